"""``flatten_routes``: included routers replaced by their routes, with the same behaviour and
the same OpenAPI document."""

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import PlainTextResponse

from app.core.api.routing import flatten_routes, route_template
from app.main import create_app

calls: list[str] = []


async def outer_check() -> None:
    calls.append("outer")


async def inner_value() -> str:
    return "real"


def nested_app() -> FastAPI:
    """Three levels of routers, each adding a prefix, tags, responses or a dependency."""
    inner = APIRouter(prefix="/items", tags=["items"], responses={404: {"description": "Gone"}})

    @inner.get("/{item_id}", status_code=200, summary="One item")
    async def read_item(
        item_id: int, request: Request, value: Annotated[str, Depends(inner_value)]
    ) -> dict[str, object]:
        return {"id": item_id, "value": value, "route": route_template(request.scope)}

    @inner.post("", status_code=201)
    async def make_item() -> dict[str, int]:
        return {"id": 1}

    middle = APIRouter(prefix="/shop", dependencies=[Depends(outer_check)])
    middle.include_router(inner)
    app = FastAPI()
    app.include_router(middle, prefix="/api/v1", tags=["v1"])
    return app


async def test_a_flattened_app_answers_and_documents_like_the_nested_one() -> None:
    nested, flat = nested_app(), nested_app()
    flatten_routes(flat)
    flat.dependency_overrides[inner_value] = lambda: "overridden"
    calls.clear()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=flat), base_url="http://test"
    ) as http:
        item = await http.get("/api/v1/shop/items/7")
        made = await http.post("/api/v1/shop/items")
        missing = await http.get("/api/v1/shop/nothing")
        wrong = await http.get("/api/v1/shop/items/seven")

    assert all(isinstance(route, APIRoute) for route in flat.router.routes[-2:])
    assert flat.openapi() == nested.openapi()
    assert item.json() == {"id": 7, "value": "overridden", "route": "/api/v1/shop/items/{item_id}"}
    assert made.status_code == 201
    assert (missing.status_code, wrong.status_code) == (404, 422)
    assert calls == ["outer", "outer", "outer"]  # the router's dependency, on each matched route


def test_a_router_with_other_kinds_of_routes_stays_included() -> None:
    router = APIRouter(prefix="/mixed")
    router.add_route("/plain", lambda _request: PlainTextResponse("plain"))
    app = FastAPI()
    app.include_router(router)
    before = list(app.router.routes)

    flatten_routes(app)

    assert app.router.routes == before


def test_the_kits_routes_are_flat() -> None:
    app = create_app()

    included = [route for route in app.router.routes if type(route).__name__ == "_IncludedRouter"]
    assert included == []
    paths = {route.path for route in app.router.routes if isinstance(route, APIRoute)}
    assert {"/api/v1/profile", "/api/v1/users/{user_id}", "/health/ready"} <= paths
