"""The sign-in form's contract (OAuth2 password flow): what it accepts, what is a 422, and that
a refused form is told apart from wrong credentials (401)."""

import httpx
import pytest

from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory

LOGIN = "/api/v1/auth/login"


def error_fields(response: httpx.Response) -> list[tuple[str | int, ...]]:
    return [tuple(item["loc"]) for item in response.json()["detail"]]


@pytest.mark.parametrize(
    ("username", "password"),
    [("a", DEFAULT_PASSWORD), ("u" * 320, DEFAULT_PASSWORD), ("nobody", "x")],
    ids=["one-character login", "longest login", "one-character password"],
)
async def test_the_shortest_and_longest_fields_are_checked_against_accounts(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    response = await client.post(LOGIN, data={"username": username, "password": password})

    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect login or password"}


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"password": DEFAULT_PASSWORD}, "username"),
        ({"username": "", "password": DEFAULT_PASSWORD}, "username"),
        ({"username": "u" * 321, "password": DEFAULT_PASSWORD}, "username"),
        ({"username": "ann"}, "password"),
        ({"username": "ann", "password": ""}, "password"),
        ({"username": "ann", "password": DEFAULT_PASSWORD, "grant_type": "client"}, "grant_type"),
    ],
    ids=["no login", "empty login", "login too long", "no password", "empty password", "grant"],
)
async def test_a_malformed_form_is_422_naming_the_field(
    client: httpx.AsyncClient, form: dict[str, str], field: str
) -> None:
    response = await client.post(LOGIN, data=form)

    assert response.status_code == 422
    assert error_fields(response) == [("body", field)]


async def test_the_optional_oauth2_fields_are_accepted(client: httpx.AsyncClient) -> None:
    user = await UserFactory.create()
    form = {
        "username": user.username,
        "password": DEFAULT_PASSWORD,
        "grant_type": "password",
        "scope": "read write",
        "client_id": "swagger",
        "client_secret": "not-checked",
    }

    response = await client.post(LOGIN, data=form)

    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
