"""Database layer: models, repositories, list parameters and the session."""

from app.core.db.model import NAMING_CONVENTION, BaseModel, SoftDeleteMixin
from app.core.db.params import (
    MAX_PER_PAGE,
    FilterParam,
    ListParams,
    PaginatedResult,
    SortParam,
)
from app.core.db.repository import BaseRepository
from app.core.db.session import (
    Database,
    DatabaseRole,
    create_engine,
    database,
    get_db_session,
)
from app.core.db.types import UTCDateTime, utcnow

__all__ = [
    "MAX_PER_PAGE",
    "NAMING_CONVENTION",
    "BaseModel",
    "BaseRepository",
    "Database",
    "DatabaseRole",
    "FilterParam",
    "ListParams",
    "PaginatedResult",
    "SoftDeleteMixin",
    "SortParam",
    "UTCDateTime",
    "create_engine",
    "database",
    "get_db_session",
    "utcnow",
]
