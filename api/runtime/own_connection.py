"""A PostgreSQL connection of a task's own, outside the pools, for work that
lasts as long as the process: listening for notifications, holding a lock."""

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
from sqlalchemy.engine import make_url

RECONNECT_SECONDS = 1.0


async def on_own_connection(database_url: str, use: Callable[..., Awaitable[None]],
                            lost: Callable[[Exception], None]) -> None:
    """`use(connection)` on a connection in autocommit, for as long as the
    task runs: when it fails (the database is away, say), `lost` is told and
    a new connection is tried every RECONNECT_SECONDS."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True, connect_timeout=5) as connection:
                await use(connection)
        except Exception as exc:
            lost(exc)
        await asyncio.sleep(RECONNECT_SECONDS)
