"""Blocking calls from the room's event loop: database and cache work on executor threads."""

from __future__ import annotations

from typing import Any

from asgiref.sync import SyncToAsync
from django.db import close_old_connections


# Room work runs on the executor's thread pool, not Channels' default single thread per process:
# with thread_sensitive=True every connection's database and cache calls queued behind one
# thread, so one process applied ops one at a time and waited on each commit's fsync in turn.
# Writes to one room still serialise on the project row's lock; sequence numbers are taken
# under it, and the hub (collab.hub) puts broadcasts back in sequence order.
class _DbCall(SyncToAsync[Any, Any]):
    """Channels' database_sync_to_async, calling django.db's close_old_connections directly.

    An executor thread's connection is checked out of the pool until closed on that thread, so
    every call closes it before returning. Channels' test communicator mocks out
    `channels.db.close_old_connections` while a test awaits the consumer, and with it this
    close: each story's executor threads then ended holding their pooled connections."""

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            close_old_connections()


def db(fn: Any) -> Any:
    """Every database call from the room: off the loop, and its connection given back."""
    return _DbCall(fn, thread_sensitive=False)


def off_loop(fn: Any) -> Any:
    """Cache and broker calls only (caps, tickets, previews): nothing here opens a connection."""
    return SyncToAsync(fn, thread_sensitive=False)
