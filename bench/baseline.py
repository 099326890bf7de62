"""The baseline the kit is measured against: the least a FastAPI app must do for the same work.

``/profile`` verifies an HS256 JWT and loads one user by primary key through an
``AsyncSession`` (psycopg 3); ``/users`` does the same sign-in, then returns a page and its
total; ``/health`` returns a constant. Run with uvicorn: ``uvicorn bench.baseline:app``; it
reads ``DATABASE_URL`` and ``SECRET_KEY`` from the environment.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.auth.models import User

engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=10, max_overflow=10)
sessions = async_sessionmaker(engine, expire_on_commit=False)
SECRET = os.environ["SECRET_KEY"]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    created_at: datetime


class Page(BaseModel):
    items: list[UserOut]
    total: int


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def db() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def signed_in(
    authorization: Annotated[str, Header()], session: Annotated[AsyncSession, Depends(db)]
) -> User:
    try:
        claims = jwt.decode(authorization.removeprefix("Bearer "), SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(401) from None
    user = await session.get(User, int(claims["sub"]))
    if user is None:
        raise HTTPException(401)
    return user


@app.get("/profile")
async def profile(user: Annotated[User, Depends(signed_in)]) -> UserOut:
    return UserOut.model_validate(user)


@app.get("/users")
async def users(
    _user: Annotated[User, Depends(signed_in)],
    session: Annotated[AsyncSession, Depends(db)],
    page: int = 1,
    per_page: int = 20,
) -> Page:
    total = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    rows = await session.execute(
        select(User).order_by(User.id.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    return Page(items=[UserOut.model_validate(user) for user in rows.scalars()], total=total)
