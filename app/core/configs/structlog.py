"""structlog set-up: JSON lines in production, coloured console locally, secrets redacted.

Standard-library records (uvicorn, SQLAlchemy, taskiq) go through the same processors.
"""

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from app.core.configs.app import AppConfig

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"pass(word)?|secret|token|authori[sz]ation|cookie|api[_-]?key|credential", re.IGNORECASE
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
    if config.traces_endpoint:
        from app.core.services.tracing import add_trace_ids

        shared.insert(1, add_trace_ids)
    level = logging.getLevelNamesMapping().get(config.LOG_LEVEL.upper(), logging.INFO)
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
