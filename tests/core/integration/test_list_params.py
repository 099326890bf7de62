import re
from typing import Annotated, get_args

import httpx
import pydantic
import pytest
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.api import ListParamsBuilder
from app.core.db import SortParam
from tests.core.models import Widget, WidgetKind
from tests.core.routes import widget_list_params
from tests.schemas import ERROR_SCHEMA, paginated_schema, validator

WIDGET_ITEM = {
    "id": {"type": "integer"},
    "name": {"type": "string"},
    "size": {"type": "integer"},
}


async def seed(db: AsyncSession, count: int = 5) -> list[Widget]:
    rows = [
        Widget(name=f"w{index:02d}", size=index % 3, kind=WidgetKind.GEAR) for index in range(count)
    ]
    db.add_all(rows)
    await db.commit()
    return rows


async def test_list_page_shape_sort_and_pagination(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await seed(db)

    response = await client.get("/test/widgets?sort=size:desc,name:asc&page=1&per_page=3")

    assert response.status_code == 200
    body = response.json()
    schema = validator(paginated_schema(WIDGET_ITEM))
    assert schema.validate(body), schema.errors
    assert [item["name"] for item in body["items"]] == ["w02", "w01", "w04"]
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (5, 1, 3, 2)


async def test_list_membership_and_equality_filters(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    rows = await seed(db)

    response = await client.get(
        "/test/widgets",
        params={"filters": f"id:[{rows[0].id}, {rows[1].id},{rows[3].id}],size:0", "sort": "id"},
    )

    assert response.status_code == 200
    assert [item["name"] for item in response.json()["items"]] == ["w00", "w03"]


async def test_list_without_parameters_uses_defaults(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await seed(db, 3)

    body = (await client.get("/test/widgets")).json()

    assert (body["page"], body["per_page"], body["total"]) == (1, 20, 3)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"sort": "secret:asc"}, "sort"),
        ({"sort": "name:sideways"}, "sort"),
        ({"sort": ",".join(["id"] * 3000)}, "sort"),
        ({"sort": "id:asc," * 6 + "id"}, "sort"),
        ({"filters": "secret:1"}, "filters"),
        ({"filters": "id:[1,2"}, "filters"),
        ({"filters": "id:1,2]"}, "filters"),
        ({"filters": "id:[[1]]"}, "filters"),
        ({"filters": "id"}, "filters"),
        ({"filters": ":5"}, "filters"),
        ({"filters": "size:abc"}, "filters"),
        ({"filters": "size:99999999999999999999999999"}, "filters"),
        ({"filters": "kind:sprocket"}, "filters"),
        ({"filters": "created_at:not-a-date"}, "filters"),
        ({"filters": "id:[" + ",".join(["1"] * 101) + "]"}, "filters"),
        ({"filters": ",".join(["size:1"] * 11)}, "filters"),
        ({"filters": "name:a\x00b"}, "filters"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1" * 40}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "1.5"}, "per_page"),
    ],
)
async def test_malformed_list_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, query: dict[str, str], param: str
) -> None:
    response = await client.get("/test/widgets", params=query)

    assert response.status_code == 422, response.text
    body = response.json()
    schema = validator(ERROR_SCHEMA)
    assert schema.validate(body), schema.errors
    assert ["query", param] in [error["loc"] for error in body["detail"]]


async def test_unknown_field_message_lists_the_allowed_fields(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/widgets", params={"sort": "password"})

    message = response.json()["detail"][0]["msg"]
    assert "password" not in message  # the rejected input is never echoed
    assert "unknown field" in message
    assert "id, name, size, created_at" in message


async def test_base_builder_parses_without_whitelist(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/test/any-list", params={"sort": "a:desc, b", "filters": "x:[1,2], y:z", "page": 2}
    )

    assert response.status_code == 200
    assert response.json() == {
        "page": 2,
        "per_page": 20,
        "sort": [{"field": "a", "order": "desc"}, {"field": "b", "order": "asc"}],
        "filters": [{"field": "x", "value": ["1", "2"]}, {"field": "y", "value": "z"}],
    }


async def test_a_field_sorted_twice_keeps_its_first_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await seed(db, 3)

    body = (await client.get("/test/widgets", params={"sort": "name:desc,name:asc"})).json()

    assert [item["name"] for item in body["items"]] == ["w02", "w01", "w00"]


async def test_openapi_documents_the_whitelisted_syntax(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in schema["paths"]["/api/v1/users"]["get"]["parameters"]
    }

    assert parameters["sort"]["pattern"].startswith("^(?:(?:id|username|status|created_at)")
    assert "password_hash" not in parameters["filters"]["pattern"]


async def test_empty_membership_list_matches_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await seed(db, 2)

    body = (await client.get("/test/widgets", params={"filters": "id:[]"})).json()

    assert (body["items"], body["total"]) == ([], 0)


async def test_the_sort_item_limit_is_exact(client: httpx.AsyncClient) -> None:
    fields = ["id", "name", "size", "created_at", "id:desc", "name:desc"]
    allowed = await client.get("/test/widgets", params={"sort": ",".join(fields[:5])})
    one_more = await client.get("/test/widgets", params={"sort": ",".join(fields)})

    assert allowed.status_code == 200, allowed.text
    assert one_more.status_code == 422
    assert one_more.json()["detail"][0]["msg"] == "at most 5 sort items are allowed"


def documented(builder: ListParamsBuilder, name: str) -> str:
    """The pattern the OpenAPI document publishes for the query parameter ``name``."""
    query = get_args(builder.__signature__.parameters[name].annotation)[1]
    pattern: str = query.json_schema_extra["pattern"]
    return pattern


SORTS = ["id", "id", "name", "size", "created_at", "name:desc"]
FILTERS = [f"size:{n % 3}" for n in range(11)]


@pytest.mark.parametrize(
    ("path", "builder", "query"),
    [
        ("/test/widgets", widget_list_params, {"sort": "name:desc,id"}),
        ("/test/widgets", widget_list_params, {"sort": ",".join(SORTS[:5])}),
        ("/test/widgets", widget_list_params, {"filters": "name:w01"}),
        ("/test/widgets", widget_list_params, {"filters": "name:[w01,w 02],kind:gear"}),
        ("/test/widgets", widget_list_params, {"filters": ",".join(FILTERS[:10])}),
        ("/test/widgets", widget_list_params, {"filters": f"id:[{','.join(['1'] * 100)}]"}),
        ("/test/any-list", ListParamsBuilder(), {"sort": "a_b:desc,C1"}),
        ("/test/any-list", ListParamsBuilder(), {"filters": "x_1:[1,2],y:z"}),
    ],
)
async def test_what_the_document_admits_the_endpoint_accepts(
    client: httpx.AsyncClient, path: str, builder: ListParamsBuilder, query: dict[str, str]
) -> None:
    [(name, value)] = query.items()

    response = await client.get(path, params=query)

    assert re.fullmatch(documented(builder, name), value)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "query",
    [
        {"sort": ",".join(SORTS)},
        {"sort": "name:up"},
        {"sort": "secret"},
        {"filters": ",".join(FILTERS)},
        {"filters": f"id:[{','.join(['1'] * 101)}]"},
        {"filters": "secret:1"},
        {"filters": "name:a]"},
    ],
)
async def test_what_the_document_refuses_the_endpoint_refuses(
    client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    [(name, value)] = query.items()

    response = await client.get("/test/widgets", params=query)

    assert not re.fullmatch(documented(widget_list_params, name), value)
    assert response.status_code == 422


@pytest.mark.parametrize("name", ["sort", "filters"])
async def test_a_list_parameter_holds_at_most_2000_characters(
    client: httpx.AsyncClient, name: str
) -> None:
    longest = {"sort": "name:desc" + " " * 1991, "filters": "name:" + "a" * 1995}[name]

    accepted = await client.get("/test/widgets", params={name: longest})
    refused = await client.get("/test/widgets", params={name: longest + " "})

    assert len(longest) == 2000
    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", name]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"filters": "id:[[1]]"}, "nested brackets are not allowed"),
        ({"filters": "id:1,2]"}, "']' without a matching '['"),
        ({"filters": "name:x[y]"}, "']' without a matching '['"),
        ({"filters": "id:[1,2"}, "'[' is never closed"),
        ({"filters": "id:[1]2"}, "a list value must end with ']'"),
        ({"filters": "id"}, "each filter must be of the form field:value"),
        ({"filters": " :1"}, "each filter must be of the form field:value"),
        ({"filters": "id:[" + ",".join(["1"] * 101) + "]"}, "a list may hold at most 100 values"),
        ({"filters": ",".join(FILTERS)}, "at most 10 filters are allowed"),
        ({"filters": "name:a\x00b"}, "text must not contain NUL characters"),
        ({"sort": "id\x00"}, "text must not contain NUL characters"),
        ({"sort": "secret"}, "unknown field; allowed: id, name, size, created_at"),
        ({"sort": "name:sideways"}, "invalid item for 'name': Input should be 'asc' or 'desc'"),
    ],
)
async def test_each_malformed_list_parameter_gets_its_own_message(
    client: httpx.AsyncClient, query: dict[str, str], message: str
) -> None:
    response = await client.get("/test/widgets", params=query)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["msg"]) == (["query", next(iter(query))], message)


def test_without_a_whitelist_the_document_says_any_column() -> None:
    builder = ListParamsBuilder()
    for name in ("sort", "filters"):
        query = get_args(builder.__signature__.parameters[name].annotation)[1]
        assert query.description.endswith("fields: any column.")


async def test_a_repeated_sort_field_does_not_hide_the_fields_after_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/test/any-list", params={"sort": "a:desc,a:asc,b"})

    assert response.json()["sort"] == [
        {"field": "a", "order": "desc"},
        {"field": "b", "order": "asc"},
    ]


class LowercaseSort(SortParam):
    field: Annotated[str, pydantic.Field(pattern="^[a-z]+$")]


def test_a_field_refused_by_a_model_without_a_whitelist_names_no_fields() -> None:
    with pytest.raises(RequestValidationError) as refused:
        ListParamsBuilder(sort_model=LowercaseSort).parse_sort("Name")

    assert refused.value.errors()[0]["msg"] == "unknown field; allowed: none"
