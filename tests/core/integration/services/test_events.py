import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from app.core.services.events import (
    FastAPIEventsService,
    ListenedEvent,
    wait_for_background_listeners,
)
from tests.core.models import Widget
from tests.core.routes import WidgetMade, received_events


@pytest.fixture(autouse=True)
def clear_received() -> None:
    received_events.clear()


async def test_listeners_receive_a_listened_event_after_commit(client: httpx.AsyncClient) -> None:
    response = await client.post("/test/widgets/gear")

    assert response.status_code == 201
    widget_id = response.json()["id"]
    assert received_events[0] == ListenedEvent(
        name="test.widget_made", data={"widget_id": widget_id, "name": "gear"}
    )
    assert received_events[1].name == "late"


async def test_event_of_a_rolled_back_transaction_is_not_delivered(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    response = await client.post("/test/widgets/rollback")

    assert response.status_code == 404
    assert received_events == []
    assert (await db.execute(select(Widget).where(Widget.name == "rollback"))).first() is None


async def test_failing_listener_is_logged_and_others_still_run(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        response = await client.post("/test/widgets/explode", headers={"X-Request-ID": "evt-1"})

    assert response.status_code == 201
    assert [event.name for event in received_events] == ["test.widget_made", "late"]
    failure = next(log for log in logs if log["event"] == "event listener failed")
    assert failure["listener"] == "failing_listener"
    assert failure["log_level"] == "error"


async def test_dispatch_outside_a_request_runs_listeners_in_the_background() -> None:
    FastAPIEventsService().dispatch(WidgetMade(widget_id=7, name="worker"))
    await wait_for_background_listeners()

    assert received_events[0] == ListenedEvent(
        name="test.widget_made", data={"widget_id": 7, "name": "worker"}
    )


async def test_dispatch_waits_for_the_session_commit(db: AsyncSession) -> None:
    events = FastAPIEventsService(db)
    db.add(Widget(name="pending", size=1, kind="gear"))
    await db.flush()

    events.dispatch(WidgetMade(widget_id=1, name="pending"))
    await wait_for_background_listeners()
    assert received_events == []

    await db.commit()
    await wait_for_background_listeners()
    assert [(event.name, event.data["name"]) for event in received_events] == [
        ("test.widget_made", "pending"),
        ("late", "pending"),
    ]
