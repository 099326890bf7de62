"""The SQL statements a block of test code sends to the database."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from app.core.db import database


@contextmanager
def sent_statements(target: Engine | Connection | None = None) -> Iterator[list[str]]:
    """Every statement sent through ``target`` (the app's engine by default) while the block
    runs, in order."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    bind = target if target is not None else database.engine.sync_engine
    event.listen(bind, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", record)
