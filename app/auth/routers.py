"""The auth module's top-level router, registered in ``app/core/routers.py``."""

from fastapi import APIRouter

from app.auth.routes.v1 import auth, profile, users

router_v1 = APIRouter()
router_v1.include_router(auth.router)
router_v1.include_router(users.router)
router_v1.include_router(profile.router)
