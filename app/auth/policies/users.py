"""Who may do what to users. Policies are dependencies: they raise, or return the actor."""

from app.auth.deps import ActiveUser
from app.auth.exceptions import ActionNotAllowed
from app.auth.models import User


async def can_update_user_status(user: ActiveUser) -> User:
    if not user.is_admin:
        raise ActionNotAllowed("Only administrators can change a user's status")
    return user


async def can_end_user_sessions(user: ActiveUser) -> User:
    if not user.is_admin:
        raise ActionNotAllowed("Only administrators can end another user's sessions")
    return user
