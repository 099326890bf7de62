"""The ASGI application: ``app.main:app``."""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import __version__
from app.core import listeners  # noqa: F401  (registers every module's listeners)
from app.core.api import health
from app.core.api.docs import add_docs
from app.core.api.errors import register_error_handlers
from app.core.api.middleware import (
    BodySizeLimitMiddleware,
    ClientAddressMiddleware,
    RequestContextMiddleware,
)
from app.core.api.responses import document_responses
from app.core.api.routing import flatten_routes, operation_id
from app.core.configs import AppConfig, app_config
from app.core.configs.structlog import configure_logging
from app.core.lifespan import lifespan
from app.core.routers import api_router
from app.core.services.error_reporting import configure_error_reporting
from app.core.services.events import EVENTS_MIDDLEWARE_ID, EventsMiddleware, RegistryEventHandler
from app.core.services.metrics import configure_metrics, metrics_endpoint
from app.core.services.tracing import configure_tracing, instrument_app

# The container's health check calls the API on loopback, whatever ALLOWED_HOSTS says.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def create_app(config: AppConfig = app_config) -> FastAPI:
    config.check_startup()
    configure_logging(config)
    configure_metrics(config)
    configure_tracing(config)
    configure_error_reporting(config, __version__)
    app = FastAPI(
        title=config.PROJECT_NAME,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if config.docs_enabled else None,
        # No trailing-slash redirects: their Location would be built from the Host header.
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
        # FastAPI's own OpenTelemetry hooks stay off: app.core.services.tracing instruments
        # requests when tracing is on, and nothing is checked per request when it is off.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.add_middleware(BodySizeLimitMiddleware, default_limit=config.MAX_REQUEST_BODY_BYTES)
    # Listeners run after the response, still inside the request context (request id bound).
    app.add_middleware(
        EventsMiddleware,
        handlers=[RegistryEventHandler()],
        middleware_id=EVENTS_MIDDLEWARE_ID,
    )
    app.add_middleware(
        RequestContextMiddleware,
        redis_budget=config.REDIS_REQUEST_BUDGET,
        metrics=config.METRICS_ENABLED,
    )
    app.add_middleware(ClientAddressMiddleware, config=config)
    if config.ALLOWED_HOSTS:
        app.add_middleware(
            TrustedHostMiddleware, allowed_hosts=[*config.ALLOWED_HOSTS, *LOOPBACK_HOSTS]
        )
    if config.CORS_ORIGINS:  # outermost: preflights and error answers get their headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.CORS_ORIGINS,
            allow_credentials=config.CORS_ALLOW_CREDENTIALS,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    register_error_handlers(app)
    app.include_router(health.router)
    if config.METRICS_ENABLED:  # outside the API's routers: no rate limit, not in OpenAPI
        app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.include_router(api_router)
    document_responses(app)
    if config.docs_enabled:
        add_docs(app)  # last: every request tries routes in order; the docs are rarely asked for
    flatten_routes(app)
    instrument_app(app)
    return app


app = create_app()
