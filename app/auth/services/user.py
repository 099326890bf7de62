"""Users and profiles: reading, listing, status changes, profile edits and deletion."""

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.events import UserCreated, UserDeleted
from app.auth.exceptions import (
    ActionNotAllowed,
    UserNotFound,
    WrongCurrentPassword,
    raise_if_taken,
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
from app.auth.services.verification import EmailVerificationService
from app.core.db import ListParams, PaginatedResult, utcnow
from app.core.exceptions import AlreadyExistsError
from app.core.services.events import EventsServiceInterface
from app.core.services.mail import MailServiceInterface


class UserService:
    def __init__(
        self,
        db: AsyncSession,
        events: EventsServiceInterface,
        hasher: PasswordHasher = password_hasher,
        *,
        mail: MailServiceInterface | None = None,
    ) -> None:
        self._db = db
        self._events = events
        self._hasher = hasher
        self._mail = mail
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
        self,
        *,
        email: str,
        username: str,
        password: str,
        is_admin: bool = False,
        email_verified: bool = False,
    ) -> User:
        """Create and commit a user and announce it (``UserCreated``: a welcome mail, and a
        verification link unless ``email_verified``); 409-style errors when the email or
        username is taken."""
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
                    "email_verified_at": utcnow() if email_verified else None,
                },
            )
            # In the transaction: durable listeners (the welcome mail) are queued with the user.
            self._events.dispatch(
                UserCreated(
                    id=user.id,
                    email=user.email,
                    username=user.username,
                    email_verified=email_verified,
                )
            )
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

    async def end_sessions(self, actor: User, user_id: int) -> None:
        """End every session of another user (admins)."""
        user = await self.get(user_id)
        if user.id == actor.id:
            raise ActionNotAllowed("End your own sessions through /profile/sessions")
        await self._refresh_tokens.revoke_for_user(self._db, user.id, utcnow())
        await self._users.commit(self._db)

    async def update_profile(
        self, user: User, changes: ProfileUpdate, session_id: str | None
    ) -> User:
        """Apply a profile edit; a password change ends every other session of the user. A new
        email is kept pending, and a link mailed to it; it replaces the old one when followed
        (asking for the current email again cancels a pending change)."""
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
        email_changes = changes.email is not None and changes.email != user.email
        if changes.email is not None and not email_changes:
            data["pending_email"] = None
        if changes.username is not None:
            data["username"] = changes.username
        if changes.password is not None:
            await password_policy.check(
                changes.password,
                user_inputs=[user.email, user.username, changes.email, changes.username],
            )
            data["password_hash"] = await self._hasher.hash(changes.password)
        try:
            await self._users.update(self._db, user, data)
            now = utcnow()
            if changes.password is not None:
                await self._refresh_tokens.revoke_for_user(
                    self._db, user.id, now, keep_family=session_id
                )
                await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
            if email_changes and changes.email is not None:
                await self._verification().request_change(user, changes.email)
            await self._users.commit(self._db)
        except IntegrityError:
            await self._db.rollback()
            raise AlreadyExistsError("The email or username is already taken") from None
        return user

    def _verification(self) -> EmailVerificationService:
        if self._mail is None:
            raise RuntimeError("UserService needs a mail service to change an email")
        return EmailVerificationService(self._db, self._events, self._mail)

    async def delete(self, user: User) -> None:
        """Soft delete: the account disappears, its sessions end, its email is free again."""
        now = utcnow()
        await self._users.delete(self._db, user)
        await self._refresh_tokens.revoke_for_user(self._db, user.id, now)
        await self._reset_tokens.invalidate_for_user(self._db, user.id, now)
        self._events.dispatch(UserDeleted(id=user.id))
        await self._users.commit(self._db)
