"""Every module's router, mounted under ``/api/v1``. Modules are plugged in here, explicitly."""

from fastapi import APIRouter

api_router = APIRouter(prefix="/api/v1")
