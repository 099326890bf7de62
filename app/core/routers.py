"""Every module's router, mounted under ``/api/v1``. Modules are plugged in here, explicitly."""

from fastapi import APIRouter

from app.auth import router_v1 as auth_router_v1

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(auth_router_v1)
