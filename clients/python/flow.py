"""Drives the generated Python client against a running API (``make check-clients``):
register -> login -> profile -> a page of users -> a 422.

Runs in the generator's own environment with the generated ``kit_api_client`` importable.
Usage: ``python flow.py BASE_URL ADMIN_USERNAME ADMIN_PASSWORD``.
"""

import sys
import time

from kit_api_client import AuthenticatedClient, Client
from kit_api_client.api.auth import auth_login, auth_register
from kit_api_client.api.profile import profile_read
from kit_api_client.api.users import users_list
from kit_api_client.models import ErrorResponse, LoginForm, TokenResponse, UserCreate, UserPage

PASSWORD = "Correct-Horse-9-battery"  # noqa: S105 (a throwaway account)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"python client flow: {what}")


def sign_in(base_url: str, username: str, password: str) -> AuthenticatedClient:
    answer = auth_login.sync_detailed(
        client=Client(base_url=base_url), body=LoginForm(username=username, password=password)
    )
    if not isinstance(answer.parsed, TokenResponse):
        raise SystemExit(f"python client flow: login of {username}: {answer.status_code}")
    return AuthenticatedClient(base_url=base_url, token=answer.parsed.access_token)


def main(base_url: str, admin_username: str, admin_password: str) -> None:
    anonymous = Client(base_url=base_url)
    name = f"py_{time.time_ns()}"

    registered = auth_register.sync_detailed(
        client=anonymous,
        body=UserCreate(email=f"{name}@example.com", username=name, password=PASSWORD),
    )
    check(registered.status_code == 201, f"register: {registered.status_code}")

    user = sign_in(base_url, name, PASSWORD)
    profile = profile_read.sync(client=user)
    check(getattr(profile, "username", None) == name, "the profile is the new user's")

    admin = sign_in(base_url, admin_username, admin_password)
    page = users_list.sync(client=admin, per_page=1)
    if not isinstance(page, UserPage):
        raise SystemExit(f"python client flow: a page of users: {page!r}")
    check(len(page.items) == 1 and page.total >= 2, "one user on the page, two in all")

    invalid = auth_register.sync_detailed(
        client=anonymous,
        body=UserCreate(email="not-an-email", username=name, password=PASSWORD),
    )
    check(invalid.status_code == 422, f"an invalid email: {invalid.status_code}")
    check(isinstance(invalid.parsed, ErrorResponse), "the 422 parses as ErrorResponse")
    sys.stdout.write("python client: register, login, profile, users page, 422: ok\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
