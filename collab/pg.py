"""PostgreSQL connections for the room's writes from the event loop (psycopg's async pool).

One small pool per event loop (a serving process runs one), opened with the first room hub on
the loop and closed with the last, so nothing outlives the loop. It connects with Django's own
settings for the default database, and is used for the group write's two statements only
(`collab.writes`); everything else goes through Django's connections on executor threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from django.db import connections
from psycopg import AsyncClientCursor, AsyncConnection
from psycopg_pool import AsyncConnectionPool

from collab.conf import limit

_pools: dict[asyncio.AbstractEventLoop, AsyncConnectionPool[AsyncConnection[Any]]] = {}


def _params() -> dict[str, Any]:
    """Django's connection parameters, without what belongs to its own (sync) connections.
    Client-side binding, as Django's: a query may then hold several statements (one round
    trip for BEGIN and the lock, one for the write and COMMIT)."""
    params = connections["default"].get_connection_params()
    for key in ("context", "cursor_factory", "prepare_threshold"):
        params.pop(key, None)
    return {**params, "autocommit": True, "cursor_factory": AsyncClientCursor}


async def _pool() -> AsyncConnectionPool[AsyncConnection[Any]]:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = AsyncConnectionPool(
            kwargs=_params(),
            min_size=1,
            max_size=limit("WRITE_CONNECTIONS"),
            open=False,
            name="collab-writes",
        )
        # Opens without suspending (its lock is free), so no caller sees it unopened.
        await pool.open()
    return pool


@asynccontextmanager
async def connection() -> AsyncIterator[AsyncConnection[Any]]:
    pool = await _pool()
    async with pool.connection() as conn:
        yield conn


async def close() -> None:
    """This loop's pool, closed (the last room hub on the loop has stopped)."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()
