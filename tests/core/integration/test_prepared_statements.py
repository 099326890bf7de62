"""``DATABASE_PREPARE_THRESHOLD``: psycopg's server-side prepared statements, on by default and
off at 0 (behind PgBouncer in transaction mode, a prepared statement would be looked for on
another server connection)."""

import pytest
from sqlalchemy import text

from app.core.configs import app_config
from app.core.db.session import create_engine

pytestmark = pytest.mark.skipif(
    not app_config.DATABASE_URL.startswith("postgresql"), reason="PostgreSQL's prepared statements"
)


async def prepared_after_repeats(threshold: int, repeats: int = 8) -> int:
    """Statements prepared on one connection after running the same query ``repeats`` times."""
    engine = create_engine(app_config.model_copy(update={"DATABASE_PREPARE_THRESHOLD": threshold}))
    try:
        async with engine.connect() as connection:
            for number in range(repeats):
                await connection.execute(text("SELECT :n + 1"), {"n": number})
            prepared = await connection.execute(text("SELECT count(*) FROM pg_prepared_statements"))
            return int(prepared.scalar_one())
    finally:
        await engine.dispose()


async def test_repeated_statements_are_prepared_by_default() -> None:
    assert await prepared_after_repeats(5) >= 1


async def test_a_threshold_of_zero_prepares_nothing() -> None:
    assert await prepared_after_repeats(0) == 0
