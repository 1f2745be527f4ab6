"""The locker's own truth in SQLite."""
