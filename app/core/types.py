"""Field types shared by modules and the kernel."""

import unicodedata
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

# ISO 8601 as list filters accept it: a date that exists (years 0001-9999, leap days in leap
# years only), optionally a time and an offset. What the published pattern admits, the API
# accepts.
_YEAR = r"(?:000[1-9]|00[1-9]\d|0[1-9]\d{2}|[1-9]\d{3})"
_LEAP_YEAR = r"(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_DATE = (
    rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))"
    rf"|{_LEAP_YEAR}-02-29)"
)
ISO_DATETIME_PATTERN = (
    _DATE + r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?)?"
)


def normalise_text(value: str) -> str:
    """The Unicode compatibility form (NFKC): look-alike spellings (fullwidth letters,
    ligatures) of one name become one string."""
    return unicodedata.normalize("NFKC", value)


def normalise_email(value: str) -> str:
    """A syntactically valid address, NFKC-normalised and lowercased; no DNS lookups, ``.test``
    domains allowed."""
    try:
        checked = validate_email(
            normalise_text(value), check_deliverability=False, test_environment=True
        )
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None
    return checked.normalized.lower()


EmailAddress = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]


def check_text(value: str) -> str:
    """Text every database accepts: no NUL character and valid Unicode (no lone surrogates).

    PostgreSQL refuses both outright; the rule holds for every backend so that input valid on
    one is valid on all.
    """
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


# The text rule as published in the OpenAPI document (JSON Schema), so that what the document
# admits the API accepts. Lone surrogates cannot be told apart from pairs there; generators do
# not produce them unasked.
TEXT_PATTERN = "^[^\\u0000]*$"


def publish_text_rule(schema: Any) -> None:
    """Add ``TEXT_PATTERN`` to every string in ``schema`` that has no pattern of its own."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "enum", "const"} & schema.keys():
            schema["pattern"] = TEXT_PATTERN
        for value in schema.values():
            publish_text_rule(value)
    elif isinstance(schema, list):
        for item in schema:
            publish_text_rule(item)


# Any text a client sends: form fields, query values, anything not in a ``RequestModel``.
Text = Annotated[
    str, AfterValidator(check_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})
]


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_strings(item)


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are refused (nobody slips in ``is_admin``), and
    every string in the body, at any depth, follows the ``Text`` rule."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=publish_text_rule)

    @model_validator(mode="before")
    @classmethod
    def _text_everywhere(cls, data: Any) -> Any:
        _check_strings(data)
        return data


__all__ = [
    "ISO_DATETIME_PATTERN",
    "TEXT_PATTERN",
    "EmailAddress",
    "RequestModel",
    "Text",
    "check_text",
    "normalise_email",
    "normalise_text",
]
