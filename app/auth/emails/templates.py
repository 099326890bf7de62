from pathlib import Path

from app.core.services.mail import BaseTemplate

VIEWS = Path(__file__).resolve().parent / "views"


class WelcomeEmail(BaseTemplate):
    def __init__(self, username: str, project_name: str, app_url: str) -> None:
        self.username = username
        self.project_name = project_name
        self.app_url = app_url

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "welcome.html"


class ResetPasswordEmail(BaseTemplate):
    def __init__(
        self, username: str, project_name: str, reset_url: str, expires_minutes: int
    ) -> None:
        self.username = username
        self.project_name = project_name
        self.reset_url = reset_url
        self.expires_minutes = expires_minutes

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "reset_password.html"


class EmailChangedEmail(BaseTemplate):
    """The notice sent to the old address when the account's email changes (no link)."""

    def __init__(self, username: str, project_name: str, new_email: str) -> None:
        self.username = username
        self.project_name = project_name
        self.new_email = new_email

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "email_changed.html"


class VerifyEmailEmail(BaseTemplate):
    """A verification link, for the account's address or for the one it is moving to."""

    def __init__(
        self,
        username: str,
        project_name: str,
        email: str,
        verify_url: str,
        expires_hours: int,
        *,
        change: bool,
    ) -> None:
        self.username = username
        self.project_name = project_name
        self.email = email
        self.verify_url = verify_url
        self.expires_hours = expires_hours
        self.change = change

    def _get_dir(self) -> Path:
        return VIEWS

    def _get_name(self) -> str:
        return "verify_email.html"
