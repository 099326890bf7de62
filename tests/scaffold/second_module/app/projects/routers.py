"""The projects module's top-level router, registered in ``app/core/routers.py``."""

from fastapi import APIRouter

from app.projects.routes.v1 import projects, tasks

router_v1 = APIRouter()
router_v1.include_router(projects.router)
router_v1.include_router(tasks.router)
