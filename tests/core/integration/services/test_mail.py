import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from taskiq import InMemoryBroker

from app.core.configs import app_config
from app.core.services.mail import (
    BaseTemplate,
    EmailData,
    MailService,
    OutboxTransport,
    RenderedMail,
    SMTPTransport,
    html_to_text,
    mail_service,
)
from app.core.services.queue import broker, queue_service
from tests.mail import Mailbox, SMTPServer, free_port, parts
from tests.queue import drain_queue

VIEWS = Path(__file__).resolve().parents[2] / "emails"


class Greeting(BaseTemplate):
    def __init__(self, username: str, code: str, link: str) -> None:
        self.username = username
        self.code = code
        self.link = link

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "greeting.html"


class Plain(BaseTemplate):
    def __init__(self, username: str) -> None:
        self.username = username

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "plain.html"


def smtp_mail_service(port: int) -> MailService:
    config = app_config.model_copy(update={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port})
    return MailService(SMTPTransport(config), queue_service, mail_service._cache, "kit@example.com")


async def test_send_delivers_html_and_text_parts_over_smtp(
    smtp_server: SMTPServer, mailbox: Mailbox
) -> None:
    service = smtp_mail_service(smtp_server.port)
    template = Greeting("<script>alert(1)</script>", "A&B", "https://example.com/a?b=1")

    await service.send(template, EmailData(subject="Welcome aboard", recipient="ann@example.com"))

    [message] = await mailbox.wait_for(1)
    assert mailbox.envelopes == [("kit@example.com", ["ann@example.com"])]
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Welcome aboard"
    text, html = parts(message)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "A&amp;B" in html
    assert "Hello <script>alert(1)</script>!" in text
    assert "your account (https://example.com/a?b=1)" in text


async def test_text_template_is_used_when_present_and_not_escaped() -> None:
    rendered = await Plain("Tom & Jerry").render()

    assert rendered.text == "Plain hello, Tom & Jerry & co.\n"
    assert "Tom &amp; Jerry" in rendered.html


async def test_outbox_keeps_and_logs_mail_without_smtp() -> None:
    outbox = OutboxTransport()
    service = MailService(outbox, queue_service, mail_service._cache, "kit@example.com")

    with capture_logs() as logs:
        await service.send(Plain("ann"), EmailData(subject="Hi", recipient="ann@example.com"))

    [message] = outbox.messages
    assert message["To"] == "ann@example.com"
    assert logs[0]["subject"] == "Hi"


def test_subject_with_line_breaks_is_rejected() -> None:
    with pytest.raises(ValueError, match="subject"):
        EmailData(subject="Hi\r\nBcc: victim@example.com", recipient="ann@example.com")


def test_html_to_text_drops_styles_and_keeps_paragraphs() -> None:
    html = "<html><head><style>p{}</style></head><body><p>One</p><p>Two  words</p></body></html>"

    assert html_to_text(html) == "One\n\nTwo words\n"


@pytest.mark.usefixtures("app")
async def test_queued_mail_is_retried_until_the_smtp_server_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()  # nothing listens here yet
    if isinstance(broker, InMemoryBroker):
        monkeypatch.setattr(broker, "await_inplace", False)
    monkeypatch.setattr(
        mail_service,
        "transport",
        SMTPTransport(app_config.model_copy(update={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port})),
    )

    await mail_service.queue(
        Plain("late"), EmailData(subject="Eventually", recipient="bo@example.com")
    )
    server = SMTPServer(port)
    # The first attempt fails while nothing listens; the retry, a second later, finds it.
    asyncio.get_running_loop().call_later(0.3, server.start)
    try:
        await drain_queue()
        [message] = await server.mailbox.wait_for(1, timeout=20)
    finally:
        server.stop()

    assert message["Subject"] == "Eventually"


async def test_deliver_once_never_sends_the_same_message_twice(
    smtp_server: SMTPServer, mailbox: Mailbox
) -> None:
    service = smtp_mail_service(smtp_server.port)
    data = EmailData(subject="Once", recipient="ann@example.com")
    rendered = RenderedMail(html="<p>x</p>", text="x")

    await service.deliver_once(data, rendered, "<once-1@example.com>")
    await service.deliver_once(data, rendered, "<once-1@example.com>")

    assert len(await mailbox.wait_for(1)) == 1
    assert mailbox.messages[0]["Message-ID"] == "<once-1@example.com>"


@pytest.mark.usefixtures("app")
async def test_queue_then_worker_delivers_through_the_configured_transport(
    smtp_server: SMTPServer, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail_service, "transport", smtp_mail_service(smtp_server.port).transport)

    await mail_service.queue(Plain("q"), EmailData(subject="Queued", recipient="q@example.com"))
    await drain_queue()

    [message] = await mailbox.wait_for(1)
    assert message["Subject"] == "Queued"
    assert parts(message)[0].strip() == "Plain hello, q & co."


async def test_outbox_in_production_logs_no_mail_body() -> None:
    outbox = OutboxTransport(log_body=False)
    service = MailService(outbox, queue_service, mail_service._cache, "kit@example.com")

    with capture_logs() as logs:
        await service.send(Plain("secret-link"), EmailData(subject="Hi", recipient="a@example.com"))

    assert "text" not in logs[0]
    assert "secret-link" not in str(logs)
