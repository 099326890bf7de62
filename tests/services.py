"""Fail fast, in one line, when the services the suite needs are not running."""

import socket
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url


def _reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unreachable_services(database_url: str, redis_url: str) -> list[str]:
    """Human descriptions of each configured network service that does not accept connections."""
    problems: list[str] = []
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        host, port = url.host or "127.0.0.1", url.port or 5432
        if not _reachable(host, port):
            problems.append(f"PostgreSQL at {host}:{port}")
    if redis_url:
        parts = urlsplit(redis_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 6379
        if not _reachable(host, port):
            problems.append(f"Redis at {host}:{port}")
    return problems
