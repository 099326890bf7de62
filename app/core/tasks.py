"""The queue broker with every module's tasks registered: what ``python -m app worker`` runs.

Add each module's ``tasks`` here.
"""

from app.core.services import mail  # noqa: F401  (registers core.mail.send)
from app.core.services.queue import broker

__all__ = ["broker"]
