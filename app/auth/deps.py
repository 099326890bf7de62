"""The auth module's dependencies: services, the signed-in user and the gateway."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.config import auth_config
from app.auth.exceptions import EmailNotVerified, InvalidToken
from app.auth.gateway import AuthGateway as AuthGatewayImpl
from app.auth.gateway import AuthGatewayInterface
from app.auth.models import User
from app.auth.repositories import UserRepository
from app.auth.services.auth import AuthService
from app.auth.services.sessions import ClientInfo, SessionService
from app.auth.services.tokens import AccessClaims, access_tokens
from app.auth.services.two_factor import TwoFactorService
from app.auth.services.user import UserService
from app.auth.services.verification import EmailVerificationService
from app.core.api import client_address
from app.core.db import utcnow
from app.core.deps import DBSession, EventsService, MailService
from app.core.types import Text

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)


async def get_user_service(db: DBSession, events: EventsService, mail: MailService) -> UserService:
    return UserService(db, events, mail=mail)


async def get_auth_service(db: DBSession, events: EventsService, mail: MailService) -> AuthService:
    return AuthService(db, events, mail)


async def get_verification_service(
    db: DBSession, events: EventsService, mail: MailService
) -> EmailVerificationService:
    return EmailVerificationService(db, events, mail)


async def get_session_service(db: DBSession) -> SessionService:
    return SessionService(db)


async def get_two_factor_service(db: DBSession) -> TwoFactorService:
    return TwoFactorService(db)


async def get_client_info(request: Request) -> ClientInfo:
    """The client's address and (up to 512 characters of) its User-Agent."""
    agent = request.headers.get("user-agent")
    return ClientInfo(address=client_address(request), user_agent=agent[:512] if agent else None)


@dataclass(frozen=True, slots=True)
class PasswordLogin:
    username: str
    password: str


class LoginForm(BaseModel):
    """The OAuth2 password flow's form (what Swagger's Authorize sends): the fields of
    ``OAuth2PasswordRequestForm``."""

    username: Text = Field(
        min_length=1, max_length=320, description="Email or username", examples=["ada"]
    )
    password: Text = Field(min_length=1, json_schema_extra={"format": "password"})
    grant_type: str | None = Field(default=None, pattern="^password$")
    scope: Text = ""
    client_id: Text | None = None
    client_secret: Text | None = Field(default=None, json_schema_extra={"format": "password"})


async def password_login(form: Annotated[LoginForm, Form()]) -> PasswordLogin:
    """The sign-in form, read without ``OAuth2PasswordRequestForm``'s thread-pool hop."""
    return PasswordLogin(form.username, form.password)


PasswordLoginForm = Annotated[PasswordLogin, Depends(password_login)]


BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


def _claims(token: str | None) -> AccessClaims:
    if not token:
        raise InvalidToken("Not authenticated")
    return access_tokens.decode(token)


async def get_access_claims(token: BearerToken) -> AccessClaims:
    return _claims(token)


AccessToken = Annotated[AccessClaims, Depends(get_access_claims)]


async def _user_in_session(token: str | None, db: AsyncSession) -> User:
    """The signed-in user: a valid access token whose user still exists and whose session has
    not ended (logout, reset, password change, revocation): checked in the same query."""
    claims = _claims(token)
    if claims.session_id is None:
        raise InvalidToken
    user = await UserRepository().get_in_session(db, claims.user_id, claims.session_id, utcnow())
    if user is None:
        raise InvalidToken
    return user


async def get_current_user(token: BearerToken, db: DBSession) -> User:
    """The signed-in user, blocked or not."""
    return await _user_in_session(token, db)


CurrentUser = Annotated[User, Depends(get_current_user)]


# One dependency from the header to the active user: each layer FastAPI resolves costs time
# on every authenticated request.
async def get_active_user(token: BearerToken, db: DBSession) -> User:
    """The signed-in user, refused when blocked."""
    user = await _user_in_session(token, db)
    if not user.is_active:
        raise InvalidToken
    return user


ActiveUser = Annotated[User, Depends(get_active_user)]


async def get_verified_user(user: ActiveUser) -> User:
    """The active user; with ``AUTH_REQUIRE_VERIFIED_EMAIL``, only once their email is
    verified (403 before)."""
    if auth_config.AUTH_REQUIRE_VERIFIED_EMAIL and not user.email_verified:
        raise EmailNotVerified
    return user


VerifiedUser = Annotated[User, Depends(get_verified_user)]


async def get_gateway(
    user_service: Annotated[UserService, Depends(get_user_service)],
) -> AuthGatewayInterface:
    return AuthGatewayImpl(user_service)


AuthGateway = Annotated[AuthGatewayInterface, Depends(get_gateway)]
UserServiceDep = Annotated[UserService, Depends(get_user_service)]
AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
VerificationServiceDep = Annotated[EmailVerificationService, Depends(get_verification_service)]
SessionServiceDep = Annotated[SessionService, Depends(get_session_service)]
TwoFactorServiceDep = Annotated[TwoFactorService, Depends(get_two_factor_service)]
Client = Annotated[ClientInfo, Depends(get_client_info)]
