"""Test-only routes that put the kernel's API helpers behind HTTP."""

from datetime import UTC, datetime
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Request

from app.auth import ActiveUser, AuthGateway, CurrentUser, VerifiedUser
from app.core.api import ListParamsBuilder, PaginatedResponse, max_body_bytes
from app.core.api.limiter import ConfigurableRateLimiter
from app.core.db import BaseRepository
from app.core.deps import DBSession, EventsService, QueueService, cached, listener, queued
from app.core.exceptions import NotFoundError
from app.core.services.events import BaseEvent, ListenedEvent
from app.core.services.queue import BaseTask
from tests.core.models import (
    Widget,
    WidgetFilterParam,
    WidgetKind,
    WidgetListParams,
    WidgetSortParam,
)

router = APIRouter(prefix="/test", include_in_schema=False)


class WidgetRepository(BaseRepository[Widget]):
    model = Widget


widget_list_params = ListParamsBuilder(WidgetListParams, WidgetSortParam, WidgetFilterParam)


@router.get("/widgets")
async def list_widgets(
    db: DBSession, params: Annotated[WidgetListParams, Depends(widget_list_params)]
) -> PaginatedResponse[dict[str, Any]]:
    result = await WidgetRepository().get_list(db, params)
    return PaginatedResponse.from_result(
        result, lambda widget: {"id": widget.id, "name": widget.name, "size": widget.size}
    )


@router.get("/any-list")
async def list_any(params: Annotated[Any, Depends(ListParamsBuilder())]) -> dict[str, Any]:
    return params.model_dump(mode="json")  # type: ignore[no-any-return]


@router.get("/missing")
async def missing() -> None:
    raise NotFoundError("Widget not found")


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals")


# --- services -------------------------------------------------------------------------------


class WidgetMade(BaseEvent):
    __event_name__ = "test.widget_made"

    widget_id: int
    name: str


class WidgetView(pydantic.BaseModel):
    id: int
    made_at: datetime
    calls: int


received_events: list[ListenedEvent] = []
cached_calls = {"count": 0}


@listener(WidgetMade)
async def record_widget_made(event: ListenedEvent) -> None:
    received_events.append(event)


@listener(WidgetMade)
async def failing_listener(event: ListenedEvent) -> None:
    if event.data["name"] == "explode":
        raise RuntimeError("listener failure")


@listener(WidgetMade)
async def late_listener(event: ListenedEvent) -> None:
    received_events.append(ListenedEvent(name="late", data=event.data))


@router.get("/client")
async def who_is_calling(request: Request) -> dict[str, str]:
    return {
        "client": request.client.host if request.client else "",
        "scheme": request.url.scheme,
    }


queued_numbers: list[int] = []


@queued
class RecordNumber(BaseTask):
    __task_name__ = "tests.routes.record_number"

    async def run(self, **data: Any) -> None:
        queued_numbers.append(int(data["n"]))


@router.post("/queue/{n}", status_code=201)
async def queue_with_a_widget(n: int, db: DBSession, queue: QueueService) -> dict[str, int]:
    """A widget and a task in one transaction; an odd ``n`` rolls both back."""
    db.add(Widget(name=f"queued-{n}", size=1, kind=WidgetKind.GEAR))
    await db.flush()
    await queue.push(RecordNumber, {"n": n})
    if n % 2:
        raise NotFoundError("rolled back")
    await db.commit()
    return {"n": n}


@router.post("/widgets/{name}", status_code=201)
async def make_widget(name: str, db: DBSession, events: EventsService) -> dict[str, int]:
    widget = Widget(name=name, size=1, kind=WidgetKind.GEAR)
    db.add(widget)
    await db.flush()
    events.dispatch(WidgetMade(widget_id=widget.id, name=name))
    if name == "rollback":
        await db.rollback()
        raise NotFoundError("rolled back")
    await db.commit()
    return {"id": widget.id}


@router.get("/cached/{item_id}")
@cached(ttl=60)
async def cached_item(item_id: int, db: DBSession, lang: str = "en") -> WidgetView:
    cached_calls["count"] += 1
    return WidgetView(
        id=item_id, made_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC), calls=cached_calls["count"]
    )


limit_two_per_minute = ConfigurableRateLimiter(times=2, seconds=60)


@router.get("/limited/{item_id}", dependencies=[Depends(limit_two_per_minute)])
async def limited(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@router.get("/limited-too", dependencies=[Depends(limit_two_per_minute)])
async def limited_too() -> dict[str, str]:
    """The same limiter on a second route: each route has its own budget."""
    return {"status": "ok"}


limit_one_per_two_minutes = ConfigurableRateLimiter(times=1, minutes=2)
limit_one_per_hour_and_a_half = ConfigurableRateLimiter(times=1, hours=1, minutes=30)


@router.get("/limited-minutes", dependencies=[Depends(limit_one_per_two_minutes)])
async def limited_minutes() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/limited-hours", dependencies=[Depends(limit_one_per_hour_and_a_half)])
async def limited_hours() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/body")
async def body_size(payload: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(payload)}


@router.post("/small-body")
@max_body_bytes(16)
async def small_body(payload: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(payload)}


@router.post("/large-body")
@max_body_bytes(4 * 1024 * 1024)
async def large_body(payload: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(payload)}


@router.get("/verified-only")
async def verified_only(user: VerifiedUser) -> dict[str, int]:
    """What a module's route behind ``VerifiedUser`` answers."""
    return {"id": user.id}


@router.get("/gateway/{user_id}")
async def through_the_gateway(
    user_id: int, gateway: AuthGateway, viewer: ActiveUser
) -> dict[str, object]:
    """What another module's route reads through ``AuthGateway``."""
    user = await gateway.get_user(user_id)
    return {"viewer": viewer.id, "user": user.model_dump(mode="json") if user else None}


@router.get("/current-user")
async def current_user(user: CurrentUser) -> dict[str, object]:
    """``CurrentUser``: the signed-in user, blocked or not."""
    return {"id": user.id, "status": user.status}
