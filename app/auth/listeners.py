"""How the auth module reacts to events."""

from app.auth.emails.templates import EmailChangedEmail, WelcomeEmail
from app.auth.events import UserCreated, UserDeleted, UserEmailChanged
from app.auth.services.verification import EmailVerificationService
from app.auth.tasks import PurgeUserTokens
from app.core.configs import app_config
from app.core.deps import listener, unit_of_work
from app.core.services.events import ListenedEvent
from app.core.services.mail import EmailData, mail_service
from app.core.services.queue import queue_service


@listener(UserCreated, durable=True)
async def send_welcome_mail(event: UserCreated) -> None:
    """Durable: queued with the new user, run by a worker, so a crash cannot lose it."""
    await mail_service.queue(
        WelcomeEmail(
            username=event.username,
            project_name=app_config.PROJECT_NAME,
            app_url=app_config.APP_URL,
        ),
        EmailData(subject=f"Welcome to {app_config.PROJECT_NAME}", recipient=event.email),
    )


@listener(UserCreated, durable=True)
async def send_verification_link(event: UserCreated) -> None:
    """Durable, like the welcome mail; accounts created verified get no link."""
    if event.email_verified:
        return
    async with unit_of_work() as uow:
        await EmailVerificationService(uow.db, uow.events, uow.mail).send_first_link(event.id)


@listener(UserDeleted, durable=True)
async def purge_deleted_user_tokens(event: ListenedEvent) -> None:
    await queue_service.push(PurgeUserTokens, {"user_id": event.data["id"]})


@listener(UserEmailChanged)
async def notify_the_old_address(event: ListenedEvent) -> None:
    await mail_service.queue(
        EmailChangedEmail(
            username=event.data["username"],
            project_name=app_config.PROJECT_NAME,
            new_email=event.data["new_email"],
        ),
        EmailData(
            subject=f"Your {app_config.PROJECT_NAME} email address was changed",
            recipient=event.data["old_email"],
        ),
    )
