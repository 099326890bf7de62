"""Password hashing with pwdlib: Argon2id for new hashes; bcrypt hashes still verify and are
upgraded on the next successful login. Hashing runs in a worker thread, never on the loop."""

import asyncio
import re
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
from zxcvbn import zxcvbn

from app.auth.config import MAX_PASSWORD_LENGTH, AuthConfig, auth_config
from app.auth.exceptions import WeakPassword
from app.core.services.ratelimit import AttemptLimiter

T = TypeVar("T")


class PasswordHasher:
    """Hashes run on a small pool of their own: Argon2 already spreads one hash over several
    cores, so more concurrent hashes only thrash the CPU and starve the event loop."""

    def __init__(self, config: AuthConfig) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=config.PASSWORD_HASH_THREADS, thread_name_prefix="password-hash"
        )
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=config.PASSWORD_HASH_TIME_COST,
                    memory_cost=config.PASSWORD_HASH_MEMORY_COST,
                    parallelism=config.PASSWORD_HASH_PARALLELISM,
                ),
                BcryptHasher(),
            )
        )

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hash.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """Whether it matches, and a new hash when the stored one is outdated."""
        return await self._run(self._verify, password, password_hash)

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, so unknown users cost as much as known ones."""
        await self._run(self._verify, password, self._dummy_hash)

    async def _run(self, func: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, func, *args)

    def _verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        # An over-long password never matches, but costs the same work to reject.
        too_long = len(password) > MAX_PASSWORD_LENGTH
        try:
            valid, new_hash = self._hash.verify_and_update(
                password[:MAX_PASSWORD_LENGTH], password_hash
            )
        except (ValueError, UnknownHashError):  # bcrypt refuses passwords over 72 bytes
            return False, None
        return (False, None) if too_long else (valid, new_hash)


password_hasher = PasswordHasher(auth_config)

# Password checks per account: guessing is slow however many clients or tokens an attacker has.
password_attempts = AttemptLimiter(
    "password",
    times=auth_config.PASSWORD_ATTEMPT_LIMIT,
    seconds=auth_config.PASSWORD_ATTEMPT_WINDOW_SECONDS,
)


class PasswordPolicy:
    """What a new password must be: not blank and not easy to guess, as zxcvbn (Dropbox's
    strength estimator) scores it, knowing the user's own email and username."""

    # zxcvbn's cost grows with length; the rest of a longer password only adds strength.
    CHECKED_LENGTH = 72

    def __init__(self, min_score: int) -> None:
        self.min_score = min_score

    async def check(self, password: str, *, user_inputs: Sequence[str | None] = ()) -> None:
        """Raise ``WeakPassword`` saying why the password is refused."""
        if not re.search(r"\S", password):
            raise WeakPassword("The password must not be blank")
        if self.min_score == 0:
            return
        result = await asyncio.to_thread(
            zxcvbn,
            password[: self.CHECKED_LENGTH],
            user_inputs=[value for value in user_inputs if value],
            max_length=self.CHECKED_LENGTH,
        )
        if result["score"] >= self.min_score:
            return
        feedback = result["feedback"]
        why = feedback.get("warning") or "It follows a pattern that is easy to guess."
        hint = " ".join(feedback.get("suggestions") or [])
        raise WeakPassword(f"The password is too easy to guess. {why} {hint}".strip())


password_policy = PasswordPolicy(auth_config.PASSWORD_MIN_SCORE)
