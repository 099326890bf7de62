"""Error reporting to Sentry (``sentry-sdk``), on when ``SENTRY_DSN`` is set.

Unhandled errors of requests and tasks that failed for good are reported, tagged with
``APP_ENV`` and the release (``SENTRY_RELEASE``, or the app's version). Events go through the
same redaction as log lines (any key that looks like a secret, at any depth, query strings
too) and never carry the frames' local variables. Events are sent from a background thread.
"""

from typing import Any
from urllib.parse import parse_qsl, urlencode

from app.core.configs import AppConfig
from app.core.configs.structlog import REDACTED, is_secret, redact


class _State:
    on = False


_state = _State()


def configure_error_reporting(config: AppConfig, version: str) -> None:
    """Start the Sentry client once per process; a no-op without ``SENTRY_DSN``."""
    if not config.SENTRY_DSN or _state.on:
        return
    import sentry_sdk  # only when reporting is on

    sentry_sdk.init(
        dsn=config.SENTRY_DSN,
        environment=str(config.APP_ENV),
        release=config.SENTRY_RELEASE or version,
        send_default_pii=False,
        include_local_variables=False,
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        # Performance tracing is OpenTelemetry's job here.
        traces_sample_rate=None,
        shutdown_timeout=2,
    )
    _state.on = True


def report_error(error: BaseException) -> None:
    """Report ``error`` (a no-op when reporting is off)."""
    if _state.on:
        import sentry_sdk

        sentry_sdk.capture_exception(error)


def _scrub_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(key, REDACTED if is_secret(key) else value) for key, value in pairs])


def scrub_event(event: Any, _hint: Any) -> Any:
    """Sentry ``before_send``: the event with every secret-looking value replaced."""
    scrubbed = redact(event)
    request = scrubbed.get("request")
    if isinstance(request, dict) and isinstance(request.get("query_string"), str):
        request["query_string"] = _scrub_query(request["query_string"])
    return scrubbed


def scrub_breadcrumb(crumb: Any, _hint: Any) -> Any:
    return redact(crumb)


__all__ = ["configure_error_reporting", "report_error", "scrub_event"]
