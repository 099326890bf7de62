"""``Annotated`` dependencies and service singletons that modules import from the kernel."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db.session import get_db_session
from app.core.services.log import logger

DBSession = Annotated[AsyncSession, Depends(get_db_session)]

__all__ = ["DBSession", "logger"]
