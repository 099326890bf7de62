"""Explicit hostile cases for every operation of the API, derived from its OpenAPI document.

For each text a client can send (query and path parameters, JSON and form fields) the pass
sends values databases refuse or cannot hold: a NUL character, a lone surrogate (JSON), dates
that do not exist in UTC, an impossible date; and, to every operation, a validly signed access
token whose subject is not an ASCII id. The API must answer each with something other than a
5xx. Used by ``scripts.fuzz`` after Schemathesis; ``check_api`` returns the failures.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import jwt

TEXTS = ["nul\x00byte", "\x00"]
JSON_ONLY_TEXTS = ["lone\ud800surrogate"]
FILTER_VALUES = [
    "created_at:0001-01-01T00:00+05:00",
    "created_at:9999-12-31T23:00-05:00",
    "created_at:0470-11-31",
    "username:ann\x00",
    "id:[1,\x00]",
]
ODD_SUBJECTS = ["\u00b2", "\u0661", "1\x00", "99999999999999999999", "-1", ""]


@dataclass
class Case:
    method: str
    path: str
    what: str
    params: dict[str, str] = field(default_factory=dict)
    json_body: str | None = None
    form: dict[str, str] | None = None
    # Sign a token with this subject instead of using the admin's.
    subject: str | None = None


def _sample(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A plain valid-looking value for a schema (the hostile value replaces one of them)."""
    if "$ref" in schema:
        return _sample(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _sample(schema[key][0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {
            name: _sample(prop, components)
            for name, prop in schema.get("properties", {}).items()
            if name in schema.get("required", [])
        }
    if kind == "integer":
        return 1
    if kind == "boolean":
        return True
    if schema.get("format") == "email":
        return "someone@example.com"
    return "Sample-Value-9-long"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def cases(document: dict[str, Any]) -> Iterator[Case]:
    components = document.get("components", {}).get("schemas", {})
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            concrete = path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    concrete = concrete.replace("{" + parameter["name"] + "}", "1")
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                values = FILTER_VALUES if parameter["name"] == "filters" else TEXTS
                for value in values:
                    yield Case(
                        method,
                        concrete,
                        f"query {parameter['name']}={value!r}",
                        params={parameter["name"]: value},
                    )
            if "{" in path:
                for value in TEXTS:
                    yield Case(method, path.split("{")[0] + quote(value), f"path {value!r}")
            content = operation.get("requestBody", {}).get("content", {})
            bodies = [
                (media, _resolve(variant, components))
                for media, body in content.items()
                for variant in body["schema"].get("anyOf", [body["schema"]])
            ]
            for media, schema in bodies:
                base = _sample(schema, components)
                for name in schema.get("properties", {}):
                    texts = TEXTS + (JSON_ONLY_TEXTS if media == "application/json" else [])
                    for value in texts:
                        data = {**base, name: value}
                        what = f"{media} field {name}={value!r}"
                        if media == "application/json":
                            yield Case(method, concrete, what, json_body=json.dumps(data))
                        else:
                            form = {key: str(item) for key, item in data.items()}
                            yield Case(method, concrete, what, form=form)
            yield from _odd_token_cases(method, concrete)


def _odd_token_cases(method: str, path: str) -> Iterator[Case]:
    for subject in ODD_SUBJECTS:
        yield Case(method, path, f"token sub={subject!r}", subject=subject)


def _signed(subject: str, secret_key: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "type": "access", "iat": now, "exp": now + timedelta(minutes=5)}
    return jwt.encode(claims, secret_key, algorithm="HS256")


def check_api(base_url: str, token: str, secret_key: str) -> list[str]:
    """Send every case; the descriptions of those answered with a 5xx or not at all."""
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    failures: list[str] = []
    sent = 0
    with httpx.Client(base_url=base_url, timeout=15) as client:
        for case in cases(document):
            bearer = token if case.subject is None else _signed(case.subject, secret_key)
            headers = {"Authorization": f"Bearer {bearer}"}
            if case.json_body is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = client.request(
                    case.method.upper(),
                    case.path,
                    params=case.params or None,
                    content=case.json_body,
                    data=case.form,
                    headers=headers,
                )
            except httpx.HTTPError as error:
                failures.append(f"{case.method.upper()} {case.path} {case.what}: {error!r}")
                continue
            sent += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method.upper()} {case.path} {case.what}: {response.status_code}"
                )
    print(f"hostile cases: {sent} sent, {len(failures)} answered 5xx or not at all")
    return failures
