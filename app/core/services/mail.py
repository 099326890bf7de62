"""Mail: Jinja2 templates rendered off the event loop, sent by SMTP (aiosmtplib) or kept in an
in-process outbox when ``SMTP_HOST`` is empty.

``send`` delivers now; ``queue`` renders now and delivers from a queue task, retried with
back-off while the SMTP server is unreachable, and sent at most once per message id.
"""

import asyncio
import re
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import aiosmtplib
import pydantic
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.core.configs import AppConfig, app_config
from app.core.services.cache import CacheServiceInterface, cache_service
from app.core.services.log import logger
from app.core.services.queue import BaseTask, QueueServiceInterface, queue_service, queued
from app.core.services.tracing import client_span
from app.core.types import EmailAddress

SENT_MARK_TTL_SECONDS = 7 * 24 * 3600


class EmailData(pydantic.BaseModel):
    """Who gets the mail and its subject."""

    subject: str = pydantic.Field(min_length=1, max_length=255, pattern=r"^[^\r\n]*$")
    recipient: EmailAddress


@dataclass(frozen=True, slots=True)
class RenderedMail:
    html: str
    text: str


@lru_cache(maxsize=32)
def _environment(directory: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(directory),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class _TextExtractor(HTMLParser):
    """Plain text from HTML: block elements become line breaks, links keep their address."""

    _BLOCKS: ClassVar[set[str]] = {"p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr", "table"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"style", "script", "head", "title"}:
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "head", "title"}:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "a" and self._href:
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


class BaseTemplate(ABC):
    """A mail template: ``_get_dir()`` and ``_get_name()`` locate the HTML file; the
    instance's public attributes are its variables. A ``.txt`` file of the same name, if
    present, is the plain-text part; otherwise it is derived from the HTML.
    """

    @abstractmethod
    def _get_dir(self) -> Path: ...

    @abstractmethod
    def _get_name(self) -> str: ...

    def _get_context(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def render_sync(self) -> RenderedMail:
        environment = _environment(self._get_dir().resolve())
        context = self._get_context()
        html = environment.get_template(self._get_name()).render(context)
        text_name = str(Path(self._get_name()).with_suffix(".txt"))
        if (self._get_dir() / text_name).is_file():
            text = environment.get_template(text_name).render(context)
        else:
            text = html_to_text(html)
        return RenderedMail(html=html, text=text)

    async def render(self) -> RenderedMail:
        """Render in a worker thread: template files are read from disk."""
        return await asyncio.to_thread(self.render_sync)


class MailTransport(ABC):
    @abstractmethod
    async def deliver(self, message: EmailMessage) -> None: ...


class SMTPTransport(MailTransport):
    def __init__(self, config: AppConfig) -> None:
        self._config = config

    async def deliver(self, message: EmailMessage) -> None:
        config = self._config
        address: dict[str, str | int] = {
            "server.address": config.SMTP_HOST,
            "server.port": config.SMTP_PORT,
        }
        with client_span("smtp send", **address):
            await aiosmtplib.send(
                message,
                hostname=config.SMTP_HOST,
                port=config.SMTP_PORT,
                username=config.SMTP_USER or None,
                password=config.SMTP_PASSWORD or None,
                start_tls=config.SMTP_STARTTLS,
                use_tls=config.SMTP_SSL,
                timeout=config.SMTP_TIMEOUT,
            )


class OutboxTransport(MailTransport):
    """Keeps the latest mails in memory and logs them: for local work and tests.

    The body is logged only when ``log_body`` is set (outside production): mails carry links
    with one-time tokens, which must not end up in production logs.
    """

    def __init__(self, size: int = 100, *, log_body: bool = True) -> None:
        self.messages: deque[EmailMessage] = deque(maxlen=size)
        self._log_body = log_body

    async def deliver(self, message: EmailMessage) -> None:
        self.messages.append(message)
        body = {"text": _text_part(message)} if self._log_body else {}
        await logger.a_info(
            "mail kept in the outbox (SMTP_HOST is not set)",
            to=message["To"],
            subject=message["Subject"],
            **body,
        )


def _text_part(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return part.get_content() if isinstance(part, EmailMessage) else ""


def build_transport(config: AppConfig) -> MailTransport:
    if config.SMTP_HOST:
        return SMTPTransport(config)
    return OutboxTransport(log_body=not config.is_production)


class MailServiceInterface(ABC):
    @abstractmethod
    async def send(self, template: BaseTemplate, email_data: EmailData) -> None:
        """Render and deliver now; raises when the mail server refuses."""

    @abstractmethod
    async def queue(self, template: BaseTemplate, email_data: EmailData) -> None:
        """Render now and deliver from the queue, retrying while the server is down."""


class MailService(MailServiceInterface):
    def __init__(
        self,
        transport: MailTransport,
        queue: QueueServiceInterface,
        cache: CacheServiceInterface,
        sender: str,
    ) -> None:
        self.transport = transport
        self._queue = queue
        self._cache = cache
        self._sender = sender

    def use(self, transport: MailTransport) -> None:
        self.transport = transport

    def bound(self, queue: QueueServiceInterface) -> "MailService":
        """This service queueing through ``queue`` (one bound to a session: the mail is sent
        only if that session's transaction commits)."""
        return MailService(self.transport, queue, self._cache, self._sender)

    def build_message(
        self, email_data: EmailData, rendered: RenderedMail, message_id: str | None = None
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = str(email_data.recipient)
        message["Subject"] = email_data.subject
        message["Message-ID"] = message_id or make_msgid(domain=self._sender.rpartition("@")[2])
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    async def send(self, template: BaseTemplate, email_data: EmailData) -> None:
        rendered = await template.render()
        await self.transport.deliver(self.build_message(email_data, rendered))

    async def queue(self, template: BaseTemplate, email_data: EmailData) -> None:
        rendered = await template.render()
        message_id = make_msgid(domain=self._sender.rpartition("@")[2])
        await self._queue.push(
            SendMail,
            {
                "subject": email_data.subject,
                "recipient": str(email_data.recipient),
                "html": rendered.html,
                "text": rendered.text,
                "message_id": message_id,
            },
        )

    async def deliver_once(
        self, email_data: EmailData, rendered: RenderedMail, message_id: str
    ) -> None:
        """Deliver unless a mail with this id was already sent (queue tasks may run twice)."""
        mark = f"mail-sent:{message_id}"
        if await self._cache.get(mark):
            await logger.a_info("mail already sent; skipping the repeat", message_id=message_id)
            return
        await self.transport.deliver(self.build_message(email_data, rendered, message_id))
        await self._cache.set(mark, True, ttl=SENT_MARK_TTL_SECONDS)


mail_service = MailService(
    build_transport(app_config), queue_service, cache_service, app_config.MAIL_FROM
)


@queued
class SendMail(BaseTask):
    """Delivers a mail rendered by ``MailService.queue``."""

    __task_name__ = "core.mail.send"
    max_retries = 8
    timeout = app_config.SMTP_TIMEOUT * 3  # connect, transfer, quit: each bounded by it

    async def run(self, **data: Any) -> None:
        await mail_service.deliver_once(
            EmailData(subject=data["subject"], recipient=data["recipient"]),
            RenderedMail(html=data["html"], text=data["text"]),
            data["message_id"],
        )


__all__ = [
    "BaseTemplate",
    "EmailData",
    "MailServiceInterface",
    "mail_service",
]
