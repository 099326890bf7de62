"""Cerberus schemas of the auth module's response bodies."""

USER = {
    "id": {"type": "integer", "min": 1},
    "username": {"type": "string"},
    "status": {"type": "string", "allowed": ["active", "blocked"]},
    "is_admin": {"type": "boolean"},
    "created_at": {"type": "string", "regex": r"^\d{4}-\d\d-\d\dT.*(Z|\+00:00)$"},
}

USER_WITH_EMAIL = USER | {
    "email": {"type": "string", "regex": r"^[^@]+@[^@]+$"},
    "email_verified_at": {
        "type": "string",
        "nullable": True,
        "regex": r"^\d{4}-\d\d-\d\dT.*(Z|\+00:00)$",
    },
    "pending_email": {"type": "string", "nullable": True, "regex": r"^[^@]+@[^@]+$"},
    "two_factor_enabled": {"type": "boolean"},
}

TOKENS = {
    "access_token": {"type": "string", "minlength": 20},
    "refresh_token": {"type": "string", "minlength": 20},
    "token_type": {"type": "string", "allowed": ["bearer"]},
    "expires_in": {"type": "integer", "min": 1},
}
