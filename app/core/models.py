"""Every module's models, imported so Alembic's autogenerate sees them. Add new modules here."""

from app.auth import models as auth_models
from app.core.db import BaseModel
from app.core.services.outbox import OutboxMessage
from app.core.services.scheduler import ScheduledJobRun

metadata = BaseModel.metadata

__all__ = ["OutboxMessage", "ScheduledJobRun", "auth_models", "metadata"]
