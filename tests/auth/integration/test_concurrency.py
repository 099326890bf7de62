"""Concurrent writers on real, separately committed sessions: on SQLite (the embedded default)
and, when the suite runs on it, PostgreSQL (in a schema of its own). Every writer succeeds; a
refresh token and a reset token work once, whoever races for them."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.exceptions import InvalidResetToken, InvalidToken
from app.auth.models import User, UserStatus
from app.auth.repositories import PasswordResetTokenRepository, UserRepository
from app.auth.schemas.user import ProfileUpdate
from app.auth.services.auth import AuthService, TokenPair
from app.auth.services.tokens import new_opaque_token
from app.auth.services.user import UserService
from app.core.configs import app_config
from app.core.db import BaseModel, Database, utcnow
from app.core.exceptions import AlreadyExistsError
from app.core.services.events import FastAPIEventsService
from app.core.services.mail import mail_service

WRITERS = 8
PASSWORD = "Correct-Horse-9-battery"


def backends() -> list[str]:
    found = ["sqlite"]
    if make_url(app_config.DATABASE_URL).get_backend_name() == "postgresql":
        found.append("postgresql")
    return found


@pytest.fixture(params=backends())
async def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database of the test's own, whose sessions really commit."""
    schema = f"concurrency_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
    else:
        url = (
            make_url(app_config.DATABASE_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    database = Database(app_config.model_copy(update={"DATABASE_URL": url}))
    database.connect()
    async with database.engine.begin() as connection:
        if request.param == "postgresql":
            await connection.execute(text(f"CREATE SCHEMA {schema}"))
        await connection.run_sync(BaseModel.metadata.create_all)
    try:
        yield database
    finally:
        if request.param == "postgresql":
            async with database.engine.begin() as connection:
                await connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await database.disconnect()


async def create_user(database: Database, name: str) -> None:
    async with database.session() as session:
        await UserService(session, FastAPIEventsService(session)).create(
            email=f"{name}@example.com", username=name, password=PASSWORD
        )


async def login(database: Database, name: str) -> TokenPair:
    async with database.session() as session:
        service = AuthService(session, FastAPIEventsService(session), mail_service)
        pair = await service.login(name, PASSWORD)
        assert isinstance(pair, TokenPair)
        return pair


async def refresh(database: Database, token: str, grace_seconds: int = 0) -> TokenPair:
    config = app_config.model_copy(update={"REFRESH_TOKEN_REUSE_GRACE_SECONDS": grace_seconds})
    async with database.session() as session:
        service = AuthService(session, FastAPIEventsService(session), mail_service, config=config)
        return await service.refresh(token)


async def set_status(database: Database, name: str, status: UserStatus) -> None:
    """Change the status behind the services' back: no session of the user ends."""
    async with database.session() as session:
        await session.execute(update(User).where(User.username == name).values(status=status))
        await session.commit()


async def test_concurrent_registrations_of_different_users_all_succeed(
    scratch: Database,
) -> None:
    names = [f"writer{number}" for number in range(WRITERS)]

    results = await asyncio.gather(
        *(create_user(scratch, name) for name in names), return_exceptions=True
    )

    assert results == [None] * WRITERS
    async with scratch.session(read_only=True) as session:
        count = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
    assert count == WRITERS


async def test_concurrent_logins_and_refreshes_of_different_sessions_all_succeed(
    scratch: Database,
) -> None:
    names = [f"reader{number}" for number in range(WRITERS)]
    for name in names:
        await create_user(scratch, name)

    pairs = await asyncio.gather(*(login(scratch, name) for name in names))
    refreshed = await asyncio.gather(*(refresh(scratch, pair.refresh_token) for pair in pairs))

    assert len({pair.refresh_token for pair in refreshed}) == WRITERS
    async with scratch.session(read_only=True) as session:
        sessions = (await session.execute(text("SELECT count(*) FROM user_sessions"))).scalar_one()
    assert sessions == WRITERS  # a sign-in without client details is still a session


async def test_a_refresh_token_replayed_at_once_works_once_and_ends_the_session(
    scratch: Database,
) -> None:
    await create_user(scratch, "replayed")
    pair = await login(scratch, "replayed")

    results = await asyncio.gather(
        *(refresh(scratch, pair.refresh_token) for _ in range(5)), return_exceptions=True
    )

    winners = [result for result in results if isinstance(result, TokenPair)]
    assert len(winners) == 1
    assert all(isinstance(result, InvalidToken) for result in results if result not in winners)
    with pytest.raises(InvalidToken):  # the family was revoked: the winner's pair is dead too
        await refresh(scratch, winners[0].refresh_token)


async def test_two_tabs_refreshing_at_once_both_keep_the_session(scratch: Database) -> None:
    await create_user(scratch, "two_tabs")
    pair = await login(scratch, "two_tabs")

    first, second = await asyncio.gather(
        refresh(scratch, pair.refresh_token, grace_seconds=30),
        refresh(scratch, pair.refresh_token, grace_seconds=30),
    )

    assert first.refresh_token != second.refresh_token
    for tab in (first, second):  # each tab goes on refreshing in the same session
        assert await refresh(scratch, tab.refresh_token, grace_seconds=30)


async def test_a_replay_at_the_last_instant_of_the_grace_window_keeps_the_session(
    scratch: Database,
) -> None:
    await create_user(scratch, "edge_tab")
    pair = await login(scratch, "edge_tab")
    rotated_at = utcnow().replace(microsecond=0) + timedelta(seconds=1)
    with freeze_time(rotated_at, real_asyncio=True):
        rotated = await refresh(scratch, pair.refresh_token, grace_seconds=30)

    with freeze_time(rotated_at + timedelta(seconds=30), real_asyncio=True):
        late_tab = await refresh(scratch, pair.refresh_token, grace_seconds=30)
        for tab in (rotated, late_tab):  # both tabs go on in the session
            assert await refresh(scratch, tab.refresh_token, grace_seconds=30)


async def test_a_reuse_after_the_grace_window_ends_the_session(scratch: Database) -> None:
    await create_user(scratch, "late_replay")
    pair = await login(scratch, "late_replay")
    rotated = await refresh(scratch, pair.refresh_token, grace_seconds=30)

    with freeze_time(utcnow() + timedelta(seconds=31), real_asyncio=True):
        with pytest.raises(InvalidToken):
            await refresh(scratch, pair.refresh_token, grace_seconds=30)
        with pytest.raises(InvalidToken):  # the whole session ended
            await refresh(scratch, rotated.refresh_token, grace_seconds=30)


async def test_a_replay_in_the_grace_window_of_an_account_blocked_meanwhile_ends_the_session(
    scratch: Database,
) -> None:
    await create_user(scratch, "blocked_tab")
    pair = await login(scratch, "blocked_tab")
    rotated = await refresh(scratch, pair.refresh_token, grace_seconds=30)
    await set_status(scratch, "blocked_tab", UserStatus.BLOCKED)

    with pytest.raises(InvalidToken):
        await refresh(scratch, pair.refresh_token, grace_seconds=30)
    await set_status(scratch, "blocked_tab", UserStatus.ACTIVE)
    with pytest.raises(InvalidToken):  # the whole session ended
        await refresh(scratch, rotated.refresh_token, grace_seconds=30)


async def test_a_reset_token_used_at_once_works_once(scratch: Database) -> None:
    await create_user(scratch, "resetting")
    token, token_hash = new_opaque_token()
    async with scratch.session() as session:
        user_id = (
            await session.execute(text("SELECT id FROM users WHERE username = 'resetting'"))
        ).scalar_one()
        await PasswordResetTokenRepository().create(
            session,
            {
                "user_id": user_id,
                "token_hash": token_hash,
                "expires_at": utcnow() + timedelta(minutes=5),
            },
        )
        await session.commit()

    async def reset(password: str) -> None:
        async with scratch.session() as session:
            service = AuthService(session, FastAPIEventsService(session), mail_service)
            await service.reset_password(token, password)

    results = await asyncio.gather(
        *(reset(f"New-password-{number}-long") for number in range(5)), return_exceptions=True
    )

    assert results.count(None) == 1
    assert all(isinstance(result, InvalidResetToken) for result in results if result is not None)


class Race:
    """Once ``armed``, the next check that a name is free is followed at once by another
    registration of ``contested`` that commits: the race only unique indexes can settle."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.armed = False

    async def interleave(self) -> None:
        if self.armed:
            self.armed = False
            await create_user(self.database, "contested")


@pytest.fixture
def race(scratch: Database, monkeypatch: pytest.MonkeyPatch) -> Race:
    if scratch.engine.dialect.name == "sqlite":
        # A writer holds SQLite's write lock from its first statement: no one slips in.
        pytest.skip("SQLite serialises writers")
    race = Race(scratch)
    checked = UserRepository.taken_fields

    async def check_then_lose(self: UserRepository, db: AsyncSession, **fields: Any) -> Any:
        found = await checked(self, db, **fields)
        await race.interleave()
        return found

    monkeypatch.setattr(UserRepository, "taken_fields", check_then_lose)
    return race


TAKEN = r"^The email or username is already taken$"


async def test_a_registration_that_loses_the_race_for_its_name_is_told_it_is_taken(
    scratch: Database, race: Race
) -> None:
    race.armed = True

    with pytest.raises(AlreadyExistsError, match=TAKEN):
        await create_user(scratch, "contested")

    async with scratch.session(read_only=True) as session:
        count = (await session.execute(text("SELECT count(*) FROM users"))).scalar_one()
    assert count == 1


async def test_a_rename_that_loses_the_race_for_the_name_is_told_it_is_taken(
    scratch: Database, race: Race
) -> None:
    await create_user(scratch, "renaming")
    async with scratch.session() as session:
        user_id = (
            await session.execute(text("SELECT id FROM users WHERE username = 'renaming'"))
        ).scalar_one()
        service = UserService(session, FastAPIEventsService(session))
        user = await service.get(user_id)
        race.armed = True

        with pytest.raises(AlreadyExistsError, match=TAKEN):
            await service.update_profile(user, ProfileUpdate(username="contested"), None)

        assert (await service.get(user_id)).username == "renaming"
