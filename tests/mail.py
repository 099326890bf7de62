"""A real SMTP server (aiosmtpd) in the test process, and helpers to read what it received."""

import asyncio
import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from app.core.configs import app_config

# APP_URL as configured, and how every mailed link starts: one slash, whatever it ends with.
APP_URL_LINK_BASES = [
    ("https://app.example.com", "https://app.example.com/"),
    ("https://app.example.com/", "https://app.example.com/"),
    ("https://example.com/BOX/", "https://example.com/BOX/"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mailbox:
    """Collects every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()

    async def wait_for(self, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} mail(s), got {len(self.messages)}")
            await asyncio.sleep(0.02)
        return list(self.messages)


class SMTPServer:
    def __init__(self, port: int | None = None, mailbox: Mailbox | None = None) -> None:
        self.port = port or free_port()
        self.mailbox = mailbox or Mailbox()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SMTPServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a message."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


def link_token(text: str, path: str) -> str:
    """The ``token`` of the ``APP_URL`` + ``path`` link in a mail's text."""
    prefix = f"{app_config.APP_URL}{path}?token="
    link = next(word for word in text.split() if word.startswith(prefix))
    return parse_qs(urlsplit(link).query)["token"][0]


def mail_to(mails: list[EmailMessage], recipient: str, subject_part: str) -> EmailMessage:
    """The one mail to ``recipient`` whose subject holds ``subject_part``."""
    [found] = [m for m in mails if m["To"] == recipient and subject_part in m["Subject"]]
    return found
