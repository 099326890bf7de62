from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.queue import drain_queue


@pytest.fixture(autouse=True)
async def finish_queued_tasks(db: AsyncSession) -> AsyncIterator[None]:
    """Let tasks a test queued finish while its transaction is still there."""
    yield
    await drain_queue()
