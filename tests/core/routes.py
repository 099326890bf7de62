"""Test-only routes that put the kernel's API helpers behind HTTP."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from app.core.api import ListParamsBuilder, PaginatedResponse
from app.core.db import BaseRepository
from app.core.deps import DBSession
from app.core.exceptions import NotFoundError
from tests.core.models import (
    Widget,
    WidgetFilterParam,
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
