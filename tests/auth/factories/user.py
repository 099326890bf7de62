from datetime import timedelta
from functools import lru_cache

import factory

from app.auth.config import auth_config
from app.auth.models import PasswordResetToken, RefreshToken, User, UserStatus
from app.auth.services.passwords import PasswordHasher
from app.auth.services.tokens import new_family_id, new_opaque_token
from app.core.db import utcnow
from tests.factories.async_alchemy_factory import AsyncSQLAlchemyModelFactory

DEFAULT_PASSWORD = "correct-horse-battery"


@lru_cache(maxsize=16)
def hash_password(password: str) -> str:
    return PasswordHasher(auth_config)._hash.hash(password)


class UserFactory(AsyncSQLAlchemyModelFactory):
    class Meta:
        model = User

    class Params:
        password = DEFAULT_PASSWORD

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.Sequence(lambda n: f"user_{n}")
    password_hash = factory.LazyAttribute(lambda user: hash_password(user.password))
    status = UserStatus.ACTIVE
    is_admin = False


class RefreshTokenFactory(AsyncSQLAlchemyModelFactory):
    class Meta:
        model = RefreshToken

    user = factory.SubFactory(UserFactory)
    token_hash = factory.LazyFunction(lambda: new_opaque_token()[1])
    family_id = factory.LazyFunction(new_family_id)
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=1))


class PasswordResetTokenFactory(AsyncSQLAlchemyModelFactory):
    class Meta:
        model = PasswordResetToken

    user = factory.SubFactory(UserFactory)
    token_hash = factory.LazyFunction(lambda: new_opaque_token()[1])
    expires_at = factory.LazyFunction(lambda: utcnow() + timedelta(hours=1))
