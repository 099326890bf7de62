"""``unit_of_work``: a session and its services for tasks, listeners and commands."""

from sqlalchemy import func, select

from app.core.db.counts import AppSession
from app.core.deps import unit_of_work
from app.core.services.cache import cache_service
from app.core.services.events import wait_for_background_listeners
from tests.core.models import Widget, WidgetKind
from tests.core.routes import WidgetMade, received_events


async def widgets_named(db: AppSession, name: str) -> int:
    return int((await db.execute(select(func.count()).where(Widget.name == name))).scalar_one())


async def test_what_is_committed_stays_and_events_follow_the_commit(db: AppSession) -> None:
    received_events.clear()
    async with unit_of_work() as uow:
        widget = Widget(name="kept", size=1, kind=WidgetKind.GEAR)
        uow.db.add(widget)
        await uow.db.flush()
        uow.events.dispatch(WidgetMade(widget_id=widget.id, name="kept"))
        await wait_for_background_listeners()
        assert received_events == []  # not before the commit
        await uow.db.commit()
        assert uow.cache is cache_service

    await wait_for_background_listeners()
    assert await widgets_named(db, "kept") == 1
    assert [event.data["name"] for event in received_events if event.name != "late"] == ["kept"]


async def test_what_is_not_committed_is_rolled_back_with_its_events(db: AppSession) -> None:
    received_events.clear()
    async with unit_of_work() as uow:
        uow.db.add(Widget(name="dropped", size=1, kind=WidgetKind.GEAR))
        await uow.db.flush()
        uow.events.dispatch(WidgetMade(widget_id=0, name="dropped"))

    await wait_for_background_listeners()
    assert await widgets_named(db, "dropped") == 0
    assert received_events == []
