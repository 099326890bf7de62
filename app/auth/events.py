"""Events the auth module announces; any module may listen to them."""

from app.core.services.events import BaseEvent


class UserCreated(BaseEvent):
    __event_name__ = "auth.user_created"

    id: int
    email: str
    username: str
    # Created verified (``create-admin``): no verification link is mailed.
    email_verified: bool = False


class UserDeleted(BaseEvent):
    __event_name__ = "auth.user_deleted"

    id: int


class UserEmailChanged(BaseEvent):
    __event_name__ = "auth.user_email_changed"

    id: int
    username: str
    old_email: str
    new_email: str
