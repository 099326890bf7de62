"""Every module's event listeners, imported so they are registered. Add each module's here."""

from app.auth import listeners as auth_listeners

__all__ = ["auth_listeners"]
