"""The auth module's front door: the only names other modules may import."""

from app.auth.deps import ActiveUser, AuthGateway, CurrentUser, VerifiedUser
from app.auth.events import UserCreated, UserDeleted
from app.auth.gateway import AuthGatewayInterface, auth_gateway
from app.auth.routers import router_v1
from app.auth.schemas.user import UserDTO

__all__ = [
    "ActiveUser",
    "AuthGateway",
    "AuthGatewayInterface",
    "CurrentUser",
    "UserCreated",
    "UserDTO",
    "UserDeleted",
    "VerifiedUser",
    "auth_gateway",
    "router_v1",
]
