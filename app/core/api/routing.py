"""Routes: the template a request matched (``/api/v1/users/{user_id}``), and one flat list
of routes for the app."""

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, _iter_routes_with_context
from starlette.routing import BaseRoute
from starlette.types import Scope


def route_template(scope: Scope) -> str | None:
    """The full template of the matched route, or ``None`` when nothing matched.

    FastAPI keeps each route's path relative to the router that declared it, so the prefixes of
    enclosing routers are recovered from the URL: the part before the route's own path.
    """
    route = scope.get("route")
    relative: str | None = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if relative is None or pattern is None:
        return None
    path: str = scope["path"]
    for index, char in enumerate(path):
        if char == "/" and pattern.match(path[index:]):
            return path[:index] + relative
    return relative


def flatten_routes(app: FastAPI) -> None:
    """Give ``app`` one flat list of routes: each included router is replaced by its routes,
    declared again with their full paths and the settings their routers added (prefix, tags,
    dependencies, responses...), in the same order.

    FastAPI 0.165 keeps included routers nested and walks every level on each request (four
    for a module's route). Call it once every router is included; the OpenAPI document is the
    same before and after. A router holding anything but plain API routes stays as it is.
    """
    flat: list[BaseRoute] = []
    for route in app.router.routes:
        leaves = list(_iter_routes_with_context([route]))
        contexts = [context for _, context in leaves]
        if not leaves or not all(
            context is not None and isinstance(context.original_route, APIRoute)
            for context in contexts
        ):
            flat.append(route)
            continue
        flat.extend(_declared_again(context, app) for context in contexts if context is not None)
    app.router.routes[:] = flat
    app.router._mark_routes_changed()


def _declared_again(context: Any, app: FastAPI) -> APIRoute:
    return APIRoute(
        context.path,
        context.endpoint,
        response_model=context.original_route.response_model,
        status_code=context.status_code,
        tags=context.tags,
        dependencies=context.dependencies,
        summary=context.summary,
        description=context.description,
        response_description=context.response_description,
        responses=context.responses,
        deprecated=context.deprecated,
        name=context.name,
        methods=context.methods,
        operation_id=context.operation_id,
        response_model_include=context.response_model_include,
        response_model_exclude=context.response_model_exclude,
        response_model_by_alias=context.response_model_by_alias,
        response_model_exclude_unset=context.response_model_exclude_unset,
        response_model_exclude_defaults=context.response_model_exclude_defaults,
        response_model_exclude_none=context.response_model_exclude_none,
        include_in_schema=context.include_in_schema,
        response_class=context.response_class,
        dependency_overrides_provider=app,
        callbacks=context.callbacks,
        openapi_extra=context.openapi_extra,
        generate_unique_id_function=context.generate_unique_id_function,
        strict_content_type=context.strict_content_type,
        max_body_size=context.max_body_size,
    )


def operation_id(route: APIRoute) -> str:
    """``<tag>-<name>``: the route's first tag and its endpoint's name in kebab case, without
    the tag's own word (``list_users`` under ``users`` is ``users-list``), HTTP method words
    replaced by the action they stand for (``get_user`` is ``users-read``, ``delete_profile``
    is ``profile-remove``). Every route gets it (``FastAPI(generate_unique_id_function=...)``);
    generated clients name their functions after it."""
    tag = _KEBAB.sub("-", str(route.tags[0]).lower()).strip("-") if route.tags else "api"
    name = route.name.lower()
    words = tag.replace("-", "_")
    for own in (words, words.removesuffix("s")):  # list_blog_posts, get_blog_post
        name = re.sub(rf"(^|_){re.escape(own)}(?=_|$)", "", name)
    words_of_name = _KEBAB.sub("-", name).strip("-") or _KEBAB.sub("-", route.name.lower())
    name = "-".join(_METHOD_WORDS.get(word, word) for word in words_of_name.strip("-").split("-"))
    return f"{tag}-{name}"


_KEBAB = re.compile(r"[^a-z0-9]+")
# Client generators append the HTTP method to FastAPI's default ids; ours carry none. ("post"
# stays: it is a noun as often as not.)
_METHOD_WORDS = {"get": "read", "put": "replace", "patch": "update", "delete": "remove"}
