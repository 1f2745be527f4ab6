"""The locker's own truth in SQLite."""

from kiosk.store.errors import StoreError
from kiosk.store.schema import Migration, bundled_migrations, load_migrations
from kiosk.store.sqlite_store import SqliteStore

__all__ = ["Migration", "SqliteStore", "StoreError", "bundled_migrations", "load_migrations"]
