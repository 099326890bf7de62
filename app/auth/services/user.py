"""Users and profiles: reading, listing, status changes, profile edits and deletion."""

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.events import UserCreated, UserDeleted, UserEmailChanged
from app.auth.exceptions import (
    ActionNotAllowed,
    EmailAlreadyTaken,
    UsernameAlreadyTaken,
    UserNotFound,
    WrongCurrentPassword,
)
from app.auth.models import User, UserStatus
from app.auth.repositories import (
    PasswordResetTokenRepository,
    RefreshTokenRepository,
    UserRepository,
)
from app.auth.schemas.user import ProfileUpdate
from app.auth.services.passwords import (
    PasswordHasher,
    password_attempts,
    password_hasher,
    password_policy,
)
from app.core.db import ListParams, PaginatedResult, utcnow
from app.core.exceptions import AlreadyExistsError
from app.core.services.events import EventsServiceInterface


def raise_if_taken(taken: set[str]) -> None:
    if "email" in taken:
        raise EmailAlreadyTaken
    if "username" in taken:
        raise UsernameAlreadyTaken


class UserService:
    def __init__(
        self,
        db: AsyncSession,
        events: EventsServiceInterface,
        hasher: PasswordHasher = password_hasher,
    ) -> None:
        self._db = db
        self._events = events
        self._hasher = hasher
        self._users = UserRepository()
        self._refresh_tokens = RefreshTokenRepository()
        self._reset_tokens = PasswordResetTokenRepository()

    async def get(self, user_id: int) -> User:
        user = await self._users.get(self._db, user_id)
        if user is None:
            raise UserNotFound
        return user

    async def find(self, user_id: int) -> User | None:
        return await self._users.get(self._db, user_id)

    async def find_many(self, user_ids: Iterable[int]) -> list[User]:
        return await self._users.get_many(self._db, user_ids)

    async def get_list(self, params: ListParams) -> PaginatedResult[User]:
        return await self._users.get_list(self._db, params)

    async def create(
        self, *, email: str, username: str, password: str, is_admin: bool = False
    ) -> User:
        """Create and commit a user and announce it (``UserCreated``); 409-style errors when the
        email or username is taken."""
        await password_policy.check(password, user_inputs=[email, username])
        # Hashed before the transaction begins: no lock or connection is held meanwhile.
        password_hash = await self._hasher.hash(password)
        raise_if_taken(await self._users.taken_fields(self._db, email=email, username=username))
        try:
            user = await self._users.create(
                self._db,
                {
                    "email": email.lower(),
                    "username": username,
                    "password_hash": password_hash,
                    "is_admin": is_admin,
                    "status": UserStatus.ACTIVE,
                },
            )
            # In the transaction: durable listeners (the welcome mail) are queued with the user.
            self._events.dispatch(UserCreated(id=user.id, email=user.email, username=user.username))
            await self._users.commit(self._db)
        except IntegrityError:  # a concurrent registration won the race
            await self._db.rollback()
            raise AlreadyExistsError("The email or username is already taken") from None
        return user

    async def update_status(self, actor: User, user_id: int, status: UserStatus) -> User:
        user = await self.get(user_id)
        if user.id == actor.id:
            raise ActionNotAllowed("You cannot change your own status")
        await self._users.update(self._db, user, {"status": status})
        if status is UserStatus.BLOCKED:
            now = utcnow()
            await self._refresh_tokens.revoke_for_user(self._db, user.id, now)
            await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
        await self._users.commit(self._db)
        return user

    async def update_profile(
        self, user: User, changes: ProfileUpdate, session_id: str | None
    ) -> User:
        """Apply a profile edit; a password change ends every other session of the user."""
        if changes.email is not None or changes.password is not None:
            if not changes.current_password:
                raise WrongCurrentPassword
            async with password_attempts.attempt(f"user:{user.id}"):
                valid, _ = await self._hasher.verify(changes.current_password, user.password_hash)
            if not valid:
                raise WrongCurrentPassword
        raise_if_taken(
            await self._users.taken_fields(
                self._db, email=changes.email, username=changes.username, exclude_id=user.id
            )
        )
        data: dict[str, object] = {}
        old_email = user.email
        email_changes = changes.email is not None and changes.email != old_email
        if changes.email is not None:
            data["email"] = changes.email
        if changes.username is not None:
            data["username"] = changes.username
        if changes.password is not None:
            await password_policy.check(
                changes.password,
                user_inputs=[
                    user.email,
                    user.username,
                    changes.email or "",
                    changes.username or "",
                ],
            )
            data["password_hash"] = await self._hasher.hash(changes.password)
        try:
            await self._users.update(self._db, user, data)
            now = utcnow()
            if changes.password is not None:
                await self._refresh_tokens.revoke_for_user(
                    self._db, user.id, now, keep_family=session_id
                )
            if changes.password is not None or email_changes:
                # A reset link mailed to the old address must not outlive the change.
                await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
            if email_changes:
                self._events.dispatch(
                    UserEmailChanged(
                        id=user.id,
                        username=user.username,
                        old_email=old_email,
                        new_email=user.email,
                    )
                )
            await self._users.commit(self._db)
        except IntegrityError:
            await self._db.rollback()
            raise AlreadyExistsError("The email or username is already taken") from None
        return user

    async def delete(self, user: User) -> None:
        """Soft delete: the account disappears, its sessions end, its email is free again."""
        now = utcnow()
        await self._users.delete(self._db, user)
        await self._refresh_tokens.revoke_for_user(self._db, user.id, now)
        await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
        self._events.dispatch(UserDeleted(id=user.id))
        await self._users.commit(self._db)
