"""The one exception the store raises."""

from __future__ import annotations


class StoreError(Exception):
    """The store refused an operation or the database failed; the message is one readable line.

    Whenever it is raised from a store method, nothing of that method was committed.
    """
