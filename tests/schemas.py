"""Cerberus schemas for response bodies shared across tests."""

from typing import Any

from cerberus import Validator

ERROR_ITEM = {
    "type": "dict",
    "schema": {
        "loc": {"type": "list", "required": True},
        "msg": {"type": "string", "required": True},
        "type": {"type": "string", "required": True},
    },
}

ERROR_SCHEMA = {"detail": {"type": ["string", "list"], "required": True, "schema": ERROR_ITEM}}


def paginated_schema(item_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "items": {
            "type": "list",
            "required": True,
            "schema": {"type": "dict", "schema": item_schema},
        },
        "total": {"type": "integer", "required": True, "min": 0},
        "page": {"type": "integer", "required": True, "min": 1},
        "per_page": {"type": "integer", "required": True, "min": 1},
        "pages": {"type": "integer", "required": True, "min": 0},
    }


def validator(schema: dict[str, Any]) -> Validator:
    return Validator(schema, require_all=True)
