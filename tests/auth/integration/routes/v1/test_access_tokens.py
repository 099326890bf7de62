"""Every forged, expired or misdirected access token gets one generic 401."""

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import jwt.warnings
import pytest
from freezegun import freeze_time
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import UserStatus
from app.core.configs import app_config
from app.core.db import utcnow
from tests.auth.factories.user import UserFactory
from tests.utils import LoggedIn, login_user

PROFILE = "/api/v1/profile"
GENERIC = {"detail": "Could not validate credentials"}


def token(
    claims: dict[str, object], key: str = app_config.SECRET_KEY, algorithm: str = "HS256"
) -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def claims_for(user_id: int, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "sub": str(user_id),
        "type": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    } | overrides


def same_key_other_algorithm(claims: dict[str, object]) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return token(claims, algorithm="HS512")


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(PROFILE)

    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "variant",
    [
        "other_key",
        "alg_none",
        "hs512",
        "wrong_type",
        "int_sub",
        "non_numeric_sub",
        "huge_sub",
        "no_exp",
        "expired",
        "garbage",
    ],
)
async def test_forged_tokens_are_refused(client: httpx.AsyncClient, variant: str) -> None:
    user = await UserFactory.create()
    past = datetime.now(UTC) - timedelta(minutes=1)
    variants: dict[str, Callable[[], str]] = {
        "other_key": lambda: token(
            claims_for(user.id), key="another-secret-key-of-32-bytes-or-more!"
        ),
        "alg_none": lambda: jwt.encode(claims_for(user.id), "", algorithm="none"),
        "hs512": lambda: same_key_other_algorithm(claims_for(user.id)),
        "wrong_type": lambda: token(claims_for(user.id, type="refresh")),
        "int_sub": lambda: jwt.api_jws.encode(
            f'{{"sub": {user.id}, "type": "access", "iat": 1, "exp": 9999999999}}'.encode(),
            app_config.SECRET_KEY,
        ),
        "non_numeric_sub": lambda: token(claims_for(user.id, sub="admin")),
        "huge_sub": lambda: token(claims_for(user.id, sub="9" * 30)),
        "no_exp": lambda: token({"sub": str(user.id), "type": "access", "iat": past}),
        "expired": lambda: token(claims_for(user.id, exp=past)),
        "garbage": lambda: "not.a.jwt",
    }
    forged = variants[variant]()

    response = await client.get(PROFILE, headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json() == GENERIC


async def test_access_token_expires_after_its_lifetime(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    later = utcnow() + timedelta(minutes=app_config.ACCESS_TOKEN_EXPIRE_MINUTES, seconds=1)
    with freeze_time(later, real_asyncio=True):
        response = await client.get(PROFILE, headers=session.headers)

    assert response.status_code == 401


@pytest.mark.parametrize("change", ["blocked", "deleted", "unknown"])
async def test_token_of_a_blocked_deleted_or_unknown_user_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, change: str
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    headers = session.headers
    if change == "blocked":
        user.status = UserStatus.BLOCKED
    elif change == "deleted":
        user.deleted_at = utcnow()
    else:
        headers = {"Authorization": f"Bearer {token(claims_for(999_999))}"}
    await db.flush()

    response = await client.get(PROFILE, headers=headers)

    assert response.status_code == 401
    assert response.json() == GENERIC


@pytest.mark.parametrize("user_id", [1_001, 65_536, 2_147_483_000, 2_147_483_647])
async def test_users_with_large_ids_use_their_tokens(
    client: httpx.AsyncClient, user_id: int
) -> None:
    user = await UserFactory.create(id=user_id)
    session = await login_user(client, user.email)

    response = await client.get(PROFILE, headers=session.headers)

    assert response.status_code == 200
    assert response.json()["id"] == user_id


@pytest.mark.parametrize("subject", ["0", "-1", "-5", "2147483648", str(2**63), "00"])
async def test_subjects_outside_the_id_column_are_refused(
    client: httpx.AsyncClient, subject: str
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)
    forged = token(claims_for(user.id, sub=subject, sid=claims_of(session)["sid"]))

    response = await client.get(PROFILE, headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json() == GENERIC


def claims_of(session: LoggedIn) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(
        session.access_token, app_config.SECRET_KEY, algorithms=["HS256"]
    )
    return decoded
