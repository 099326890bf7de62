"""Identity rules: usernames and emails are one name whatever their case or Unicode form, new
passwords must be hard to guess, and an email change tells the old address."""

import httpx
import pytest

from app.auth.services.passwords import password_policy
from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory
from tests.auth.integration.routes.v1.test_auth import token_from
from tests.conftest import SentMail
from tests.mail import link_token, mail_to, parts
from tests.utils import login_user

REGISTER = "/api/v1/auth/register"
STRONG = "Correct-Horse-9-battery"


@pytest.mark.parametrize("username", ["ADMIN", "Admin", "aDmIn"])
async def test_a_username_is_taken_whatever_its_case(
    client: httpx.AsyncClient, username: str
) -> None:
    await UserFactory.create(username="admin")

    response = await client.post(
        REGISTER, json={"email": "new@example.com", "username": username, "password": STRONG}
    )

    assert response.status_code == 409
    assert response.json() == {"detail": "This username is already taken"}


async def test_an_email_is_taken_whatever_its_unicode_form(client: httpx.AsyncClient) -> None:
    await UserFactory.create(email="ann@example.com")

    response = await client.post(
        REGISTER,
        json={"email": "\uff41nn@example.com", "username": "another", "password": STRONG},
    )

    assert response.status_code == 409


async def test_login_by_username_ignores_case_and_unicode_form(
    client: httpx.AsyncClient,
) -> None:
    user = await UserFactory.create(username="CamelCase")

    await login_user(client, "camelcase")
    await login_user(client, "CAMELCASE")
    await login_user(client, "\uff43\uff41\uff4d\uff45\uff4c\uff43\uff41\uff53\uff45")
    assert user.username == "CamelCase"  # shown as chosen


async def test_usernames_are_ascii_so_look_alikes_cannot_register(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        REGISTER,
        json={"email": "new@example.com", "username": "\uff41dmin", "password": STRONG},
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1", "very common"),
        ("aaaaaaaaaaaa", "Repeats"),
        ("          ", "pattern"),
        ("qwertyuiop", "easy to guess"),
        ("ann_smith_ann", "easy to guess"),
    ],
)
async def test_weak_passwords_are_refused_saying_why(
    client: httpx.AsyncClient, password: str, why: str
) -> None:
    response = await client.post(
        REGISTER, json={"email": "ann@example.com", "username": "ann_smith", "password": password}
    )

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert why in error["msg"]
    assert password.strip() not in error["msg"] or not password.strip()


async def test_a_weak_new_password_is_refused_in_the_profile(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    response = await client.patch(
        "/api/v1/profile",
        json={"password": "password123", "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )

    assert response.status_code == 422
    await login_user(client, user.email)  # unchanged


@pytest.mark.parametrize(
    "change",
    [
        {"username": "marigold.quasar.ledger", "password": "marigold.quasar.ledger"},
        {"email": "velvet.otter@example.com", "password": "velvet.otter@example.com"},
    ],
    ids=["the new username", "the new email"],
)
async def test_a_new_password_may_not_be_the_new_username_or_email(
    client: httpx.AsyncClient, change: dict[str, str]
) -> None:
    user = await UserFactory.create()
    session = await login_user(client, user.email)

    response = await client.patch(
        "/api/v1/profile",
        json={**change, "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


async def test_the_minimum_score_is_configurable(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(password_policy, "min_score", 0)

    response = await client.post(
        REGISTER, json={"email": "ann@example.com", "username": "ann", "password": "password1"}
    )

    assert response.status_code == 201


async def test_an_email_change_tells_the_old_address_and_voids_reset_links(
    client: httpx.AsyncClient, sent_mail: SentMail
) -> None:
    user = await UserFactory.create(email="old@example.com")
    session = await login_user(client, user.email)
    await client.post("/api/v1/auth/restore-password", json={"email": "old@example.com"})
    [reset_mail] = await sent_mail.wait_for(1)
    token = token_from(parts(reset_mail)[0])

    changed = await client.patch(
        "/api/v1/profile",
        json={"email": "new@example.com", "current_password": DEFAULT_PASSWORD},
        headers=session.headers,
    )

    assert changed.status_code == 200
    link = mail_to(await sent_mail.wait_for(2), "new@example.com", "Confirm")
    verified = await client.post(
        "/api/v1/auth/verify-email", json={"token": link_token(parts(link)[0], "/verify-email")}
    )
    assert verified.status_code == 204
    notice = mail_to(await sent_mail.wait_for(3), "old@example.com", "changed")
    assert notice["To"] == "old@example.com"
    assert "new@example.com" in notice.as_string()
    assert "token=" not in notice.as_string()
    used = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": "Another-Strong-7-phrase"}
    )
    assert used.status_code == 401


async def test_blocking_voids_reset_links(client: httpx.AsyncClient, sent_mail: SentMail) -> None:
    admin = await UserFactory.create(is_admin=True)
    user = await UserFactory.create()
    await client.post("/api/v1/auth/restore-password", json={"email": user.email})
    [reset_mail] = await sent_mail.wait_for(1)
    token = token_from(parts(reset_mail)[0])
    admin_session = await login_user(client, admin.email)

    await client.patch(
        f"/api/v1/users/{user.id}", json={"status": "blocked"}, headers=admin_session.headers
    )
    await client.patch(
        f"/api/v1/users/{user.id}", json={"status": "active"}, headers=admin_session.headers
    )
    used = await client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": "Another-Strong-7-phrase"}
    )

    assert used.status_code == 401
