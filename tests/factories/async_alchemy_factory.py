"""factory-boy factories for async SQLAlchemy sessions.

``await SomeFactory.create(...)`` adds the object to the current test's session and flushes;
attribute values that are awaitables (``SubFactory`` results included) are awaited first.
"""

import inspect
from contextvars import ContextVar
from typing import Any

import factory

from app.core.db.counts import AppSession

current_session: ContextVar[AppSession] = ContextVar("factory_session")


class AsyncSQLAlchemyModelFactory(factory.alchemy.SQLAlchemyModelFactory):  # type: ignore[misc]
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = None

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> Any:
        async def create() -> Any:
            for key, value in kwargs.items():
                if inspect.isawaitable(value):
                    kwargs[key] = await value
            instance = model_class(*args, **kwargs)
            session = current_session.get()
            session.add(instance)
            await session.flush()
            # The app's sessions share this one's connection: they see the row already.
            await session.publish_writes()
            return instance

        return create()

    @classmethod
    async def create_batch(cls, size: int, **kwargs: Any) -> list[Any]:
        return [await cls.create(**kwargs) for _ in range(size)]
