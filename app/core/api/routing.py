"""The route template a request matched, e.g. ``/api/v1/users/{user_id}``."""

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
