"""Field types shared by modules and the kernel."""

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, StringConstraints, WithJsonSchema

# ISO 8601 as list filters accept it: a date, optionally a time and an offset.
ISO_DATETIME_PATTERN = (
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?)?"
)


def normalise_email(value: str) -> str:
    """A syntactically valid address, lowercased; no DNS lookups, ``.test`` domains allowed."""
    try:
        checked = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None
    return checked.normalized.lower()


EmailAddress = Annotated[
    str,
    StringConstraints(max_length=320),
    AfterValidator(normalise_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]
