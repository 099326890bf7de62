"""structlog set-up: JSON lines in production, coloured console locally, secrets redacted.

Standard-library records (uvicorn, SQLAlchemy, taskiq) go through the same processors.
"""

import functools
import json
import logging
import re
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from app.core.configs.app import AppConfig

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|authori[sz]ation|cookie|api[_-]?key|credential|challenge"
    r"|recovery|otpauth|totp",
    re.IGNORECASE,
)


_PLAIN = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def is_secret(key: object) -> bool:
    return _SECRET_KEY.search(str(key)) is not None


def redact(value: Any) -> Any:
    """``value`` with the value of every key that looks like a secret replaced, at any depth."""
    if isinstance(value, MutableMapping):
        return {
            key: REDACTED if is_secret(key) else (item if type(item) in _PLAIN else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [item if type(item) in _PLAIN else redact(item) for item in value]
    return value


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any key that looks like a secret, however deep it sits."""
    return redact(event_dict)  # type: ignore[no-any-return]


# Longest string value a log line keeps, and the deepest traceback it shows (innermost frames).
MAX_VALUE_CHARS = 4000
MAX_TRACEBACK_FRAMES = 30


def _truncate(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) <= MAX_VALUE_CHARS:
            return value
        # Both ends: a traceback's last lines say what failed.
        head, tail = MAX_VALUE_CHARS // 4, MAX_VALUE_CHARS * 3 // 4
        return (
            f"{value[:head]}\n... [{len(value) - head - tail} characters cut] ...\n{value[-tail:]}"
        )
    if isinstance(value, dict):
        return {key: _truncate(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_truncate(item) for item in value]
    return value


def bound_sizes(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Cut long strings (a traceback, a huge exception message) so every line stays small."""
    return {key: _truncate(value) for key, value in event_dict.items()}


def name_logger(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """``get_logger(logger_name=...)`` shows as ``logger``, like standard-library records."""
    if "logger_name" in event_dict:
        event_dict["logger"] = event_dict.pop("logger_name")
    return event_dict


class AccessLog:
    """The one line each request writes (``event="request"``), rendered and written without
    structlog's processor chain, which costs more than a small request itself.

    It carries what that chain would add: the bound context (``request_id``, and anything a
    route bound) redacted, level, logger name, a UTC timestamp and, with tracing on, the trace
    ids. JSON or console format follows ``configure_logging``; below ``INFO`` level it is off.
    """

    def __init__(self) -> None:
        self.enabled = True
        self.render: Callable[[dict[str, Any]], str] = json.dumps
        self.write_line: Callable[[str], object] = sys.stderr.write
        self.trace_ids: Processor | None = None
        self._second = -1
        self._second_text = ""

    def configure(
        self,
        *,
        enabled: bool,
        render: Callable[[dict[str, Any]], str],
        stream: TextIO,
        trace_ids: Processor | None,
    ) -> None:
        self.enabled = enabled
        self.render = render
        self.write_line = stream.write
        self.trace_ids = trace_ids

    def write(self, method: str, route: str | None, path: str, status: int, seconds: float) -> None:
        if not self.enabled:
            return
        event: dict[str, Any] = {
            "method": method,
            "route": route,
            "path": path if len(path) <= MAX_VALUE_CHARS else _truncate(path),
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "event": "request",
            "logger": "app.access",
        }
        event.update(redact(structlog.contextvars.get_contextvars()))
        if self.trace_ids is not None:
            self.trace_ids(None, "info", event)
        event["level"] = "info"
        event["timestamp"] = self._timestamp()
        self.write_line(self.render(event) + "\n")

    def _timestamp(self) -> str:
        """Like structlog's ISO UTC stamp; the date and time part is formatted once a second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((now - second) * 1_000_000):06d}Z"


access_log = AccessLog()


def configure_logging(config: AppConfig) -> None:
    """structlog writes its own lines straight to stderr, filtered by level before any work;
    standard-library records (uvicorn, SQLAlchemy, taskiq) are rendered the same way."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Processor
    # Tracebacks never carry the frames' local variables: they hold passwords, forms and
    # headers, and redaction cannot see inside them.
    if config.log_json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(
                    show_locals=False, max_frames=MAX_TRACEBACK_FRAMES
                )
            )
        )
    else:
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    shared.append(bound_sizes)
    trace_ids: Processor | None = None
    if config.traces_endpoint:
        from app.core.services.tracing import add_trace_ids

        trace_ids = add_trace_ids
        shared.insert(1, trace_ids)
    level = logging.getLevelNamesMapping().get(config.LOG_LEVEL.upper(), logging.INFO)
    console = renderer
    access_log.configure(
        enabled=level <= logging.INFO,
        render=json.dumps if config.log_json else lambda event: str(console(None, "info", event)),
        stream=sys.stderr,
        trace_ids=trace_ids,
    )
    structlog.configure(
        processors=[name_logger, *shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        # Cached loggers are faster but invisible to structlog.testing.capture_logs.
        cache_logger_on_first_use=config.APP_ENV != "testing",
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Our middleware writes the access log, with the route template and request id.
    logging.getLogger("uvicorn.access").disabled = True
