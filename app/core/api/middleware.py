"""Request context (a request id on every log line, one access log line, safe default
headers) and the request body size limit."""

import os
import re
import time
from collections.abc import Callable
from ipaddress import ip_address
from typing import Any, TypeVar

import structlog
from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.core.api.routing import route_template
from app.core.configs import AppConfig, app_config
from app.core.configs.structlog import access_log
from app.core.services import metrics
from app.core.services.redis import start_request_budget

REQUEST_ID_HEADER = b"x-request-id"
# On every response: browsers must not guess a content type other than the declared one.
NOSNIFF = (b"x-content-type-options", b"nosniff")
# Accept a caller's request id only when it is short and harmless to log.
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class RequestContextMiddleware:
    """Pure ASGI middleware: binds ``request_id`` for the request, starts its Redis budget
    (``REDIS_REQUEST_BUDGET``), logs its outcome and, with ``metrics``, records it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log_enabled: bool = True,
        redis_budget: float = 0.25,
        metrics: bool = False,
    ) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self.redis_budget = redis_budget
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = self._request_id(scope)
        started = time.perf_counter()
        status_code = 500
        header_value = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, header_value),
                    NOSNIFF,
                ]
            await send(message)

        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start_request_budget(self.redis_budget)
        if self.metrics:
            metrics.IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope) if self.metrics or self.access_log_enabled else None
            if self.metrics:
                metrics.IN_FLIGHT.dec()
                metrics.observe_request(scope["method"], route, status_code, elapsed)
            if self.access_log_enabled:
                access_log.write(scope["method"], route, scope["path"], status_code, elapsed)
            structlog.contextvars.clear_contextvars()

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER and _VALID_REQUEST_ID.match(value):
                return bytes(value).decode()
        return os.urandom(16).hex()  # what uuid4().hex gives, without the UUID object


MAX_BODY_ATTRIBUTE = "__max_body_bytes__"
EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


def max_body_bytes(limit: int) -> Callable[[EndpointT], EndpointT]:
    """Give one route its own request body limit (``MAX_REQUEST_BODY_BYTES`` elsewhere).

    Put it under the route decorator::

        @router.post("/imports")
        @max_body_bytes(20 * 1024 * 1024)
        async def import_file(...): ...
    """
    if limit < 0:
        raise ValueError("a body limit cannot be negative")

    def mark(endpoint: EndpointT) -> EndpointT:
        setattr(endpoint, MAX_BODY_ATTRIBUTE, limit)
        return endpoint

    return mark


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"Request body is larger than {limit} bytes"
    )


class BodySizeLimitMiddleware:
    """Pure ASGI: a request body longer than its route's limit is refused with 413 as it
    streams in (declared ``Content-Length`` or chunked alike), so memory never grows with it.

    The limit is read when the body is first read, after routing: the route's own
    (``max_body_bytes``) or ``default_limit``.
    """

    def __init__(self, app: ASGIApp, *, default_limit: int) -> None:
        self.app = app
        self.default_limit = default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        limit: int | None = None

        async def limited_receive() -> Message:
            nonlocal received, limit
            if limit is None:
                endpoint = scope.get("endpoint")
                limit = getattr(endpoint, MAX_BODY_ATTRIBUTE, self.default_limit)
                declared = _content_length(scope)
                if declared is not None and declared > limit:
                    raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ClientAddressMiddleware:
    """``request.client`` is the real client behind ``TRUSTED_PROXIES``, for everything
    downstream (rate limits, logs, sessions).

    uvicorn's ``ProxyHeadersMiddleware`` reads ``X-Forwarded-For`` (and ``X-Forwarded-Proto``)
    when the socket peer is a trusted proxy, taking the nearest address no trusted proxy
    added. A hop that is not an IP address leaves the socket peer in place. The proxies are
    read from the configuration on each request (changing them needs no new app).
    """

    def __init__(self, app: ASGIApp, config: AppConfig = app_config) -> None:
        self.app = app
        self._config = config
        self._trusted: tuple[Any, ...] = ()
        self._proxied: ProxyHeadersMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        networks = self._config.TRUSTED_PROXIES
        if not networks or scope["type"] == "lifespan":  # the usual case: one check, no copy
            await self.app(scope, receive, send)
            return
        trusted = tuple(networks)
        if self._proxied is None or trusted != self._trusted:
            hosts = [str(network) for network in trusted]
            self._proxied = ProxyHeadersMiddleware(self._keep_ip_clients, trusted_hosts=hosts)
            self._trusted = trusted
        scope[_PEER] = scope.get("client")
        await self._proxied(scope, receive, send)  # type: ignore[arg-type]

    async def _keep_ip_clients(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client")
        if client is not None and not _is_ip_address(client[0]):
            scope["client"] = scope[_PEER]
        await self.app(scope, receive, send)


_PEER = "app.socket_peer"


def _is_ip_address(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True
