"""The OpenAPI document as generated clients read it: operation ids ``<tag>-<name>``, unique;
schema names a person would choose; the committed ``openapi.json`` up to date."""

import json
import re
from collections import Counter
from typing import Any

import pytest
from fastapi.routing import APIRoute
from typer.testing import CliRunner

from app.cli import OPENAPI_FILE, cli
from app.core.api.routing import operation_id
from app.main import create_app
from scripts.check_clients import leaked_names

KEBAB_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")
SCHEMA_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@pytest.fixture(scope="module")
def document() -> dict[str, object]:
    schema: dict[str, object] = create_app().openapi()
    return schema


def operation_ids(document: dict[str, object]) -> list[str]:
    paths: dict[str, dict[str, dict[str, str]]] = document["paths"]  # type: ignore[assignment]
    return [op["operationId"] for operations in paths.values() for op in operations.values()]


def test_operation_ids_are_tag_and_name_and_unique(document: dict[str, object]) -> None:
    ids = operation_ids(document)

    assert [name for name, count in Counter(ids).items() if count > 1] == []
    assert [name for name in ids if not KEBAB_ID.match(name)] == []
    assert {"auth-login", "users-list", "users-read", "profile-read", "health-live"} <= set(ids)
    assert [name for name in ids if set(name.split("-")) & {"api", "v1", "get", "delete"}] == []


@pytest.mark.parametrize(
    ("name", "tag", "expected"),
    [
        ("list_users", "users", "users-list"),
        ("get_blog_post", "blog_posts", "blog-posts-read"),
        ("delete_blog_post", "blog_posts", "blog-posts-remove"),
        ("put_settings", "settings", "settings-replace"),
        ("patch_item", "items", "items-update"),
        ("get_post", "comments", "comments-read-post"),
        ("list_blog_posts", "blog_posts", "blog-posts-list"),
        ("refresh_token", "auth", "auth-refresh-token"),
        ("health", "health", "health-health"),
        ("ping", None, "api-ping"),
    ],
)
def test_operation_id_drops_the_tags_own_words(name: str, tag: str | None, expected: str) -> None:
    route = APIRoute("/x", lambda: None, name=name, tags=[tag] if tag else None)

    assert operation_id(route) == expected


def test_schema_names_carry_no_paths_methods_or_generics(document: dict[str, object]) -> None:
    components: dict[str, dict[str, object]] = document["components"]  # type: ignore[assignment]
    names = list(components["schemas"])

    assert [name for name in names if not SCHEMA_NAME.match(name)] == []
    assert {"LoginForm", "UserPage", "ErrorResponse"} <= set(names)


def test_the_committed_document_is_the_codes() -> None:
    result = CliRunner().invoke(cli, ["openapi", "--check"])

    assert result.exit_code == 0, result.output
    assert json.loads(OPENAPI_FILE.read_text()) == create_app().openapi()


def responses_of(document: dict[str, object]) -> list[tuple[str, str, str, dict[str, object]]]:
    paths: dict[str, dict[str, dict[str, Any]]] = document["paths"]  # type: ignore[assignment]
    return [
        (path, operation["operationId"], code, answer)
        for path, operations in paths.items()
        for operation in operations.values()
        for code, answer in operation["responses"].items()
    ]


def test_every_error_answer_is_documented_in_one_shape(document: dict[str, object]) -> None:
    errors = [
        (operation_id, code, json.dumps(answer))
        for _, operation_id, code, answer in responses_of(document)
        if not code.startswith("2") and (operation_id, code) != ("health-ready", "503")
    ]
    paths: dict[str, dict[str, dict[str, Any]]] = document["paths"]  # type: ignore[assignment]
    operations = [(path, op) for path, ops in paths.items() for op in ops.values()]
    components: dict[str, dict[str, object]] = document["components"]  # type: ignore[assignment]

    assert [error for error in errors if "#/components/schemas/ErrorResponse" not in error[2]] == []
    assert "HTTPValidationError" not in components["schemas"]
    for path, operation in operations:
        codes = set(operation["responses"])
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= codes, operation["operationId"]
        if path.startswith("/api/"):
            assert "503" in codes, operation["operationId"]
        if operation.get("security"):
            assert "401" in codes, operation["operationId"]


def test_main_request_bodies_carry_examples(document: dict[str, object]) -> None:
    components: dict[str, dict[str, Any]] = document["components"]  # type: ignore[assignment]
    schemas = components["schemas"]

    for name in ("UserCreate", "LoginForm", "RefreshTokenRequest", "ResetPasswordRequest"):
        properties = schemas[name]["properties"]
        assert any("examples" in field for field in properties.values()), name


def test_the_client_check_catches_fastapis_default_names() -> None:
    defaults = [
        "login_api_v1_auth_login_post",
        "listUsersApiV1UsersGet",
        "BodyLoginApiV1AuthLoginPost",
        "PaginatedResponseUnionUserWithEmailResponseUserResponse",
        "delete_profile_api_v1_profile_delete",
    ]
    ours = ["auth_login", "usersList", "LoginForm", "UserPage", "profile_remove", "users_read"]

    assert leaked_names([*defaults, *ours]) == sorted(defaults)
