"""The queue broker with every module's tasks registered: what ``python -m app worker`` runs.

Add each module's ``tasks`` here. The listeners are imported too: durable ones run here.
"""

from app.auth import tasks as auth_tasks
from app.core import listeners as module_listeners
from app.core.services import events as core_event_tasks
from app.core.services import mail as core_mail_tasks
from app.core.services.queue import broker

__all__ = ["auth_tasks", "broker", "core_event_tasks", "core_mail_tasks", "module_listeners"]
