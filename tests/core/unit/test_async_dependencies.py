"""Every endpoint and dependency of the app is ``async``: FastAPI runs a plain ``def`` one in its
thread pool, a hop that costs each request time and, under load, waits for a free thread."""

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.main import app


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router
            yield from api_routes(route.original_router.routes)


def calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for dependency in dependant.dependencies:
        yield from calls(dependency)


def is_async(call: Any) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__
    if inspect.isclass(call):
        return False
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_no_endpoint_or_dependency_runs_in_the_thread_pool() -> None:
    routes = list(api_routes(app.router.routes))
    sync = {
        f"{route.path}: {getattr(call, '__qualname__', type(call).__qualname__)}"
        for route in routes
        for call in calls(route.dependant)
        if call is not None and not is_async(call)
    }

    assert len(routes) > 15
    assert sync == set()
