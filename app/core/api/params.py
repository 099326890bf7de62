"""``ListParamsBuilder``: parses list query parameters into ``ListParams``.

Syntax: ``sort=id:desc,username:asc``, ``filters=status:active,id:[1,2]``. Anything malformed is
a 422 naming the query parameter; it never reaches the database.
"""

import inspect
import re
from typing import Annotated, Any, TypeVar, get_args

import pydantic
from fastapi import Query
from fastapi.exceptions import RequestValidationError

from app.core.db.params import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    FilterParam,
    ListParams,
    SortParam,
)
from app.core.exceptions import error_item
from app.core.types import check_text

MAX_QUERY_LENGTH = 2000

M = TypeVar("M", bound=pydantic.BaseModel)
# A filter value: no list punctuation, no control characters.
ANY_VALUE = r"[^,\[\]\x00-\x1f]*"


def _invalid(param: str, message: str) -> RequestValidationError:
    return RequestValidationError([error_item(("query", param), message)])


def _check_text(param: str, raw: str) -> None:
    try:
        check_text(raw)
    except ValueError as error:
        raise _invalid(param, str(error)) from None


def _allowed_fields(model: type[pydantic.BaseModel]) -> tuple[str, ...]:
    return tuple(str(arg) for arg in get_args(model.model_fields["field"].annotation))


def _field_pattern(model: type[pydantic.BaseModel]) -> str:
    names = _allowed_fields(model)
    if not names:
        return "[A-Za-z_][A-Za-z0-9_]*"
    return "(?:" + "|".join(re.escape(name) for name in names) + ")"


def _repeated(item: str, times: int) -> str:
    return f"^(?:{item}(?:,{item}){{0,{times - 1}}})?$"  # empty: no sorting or filtering


def split_top_level(raw: str, param: str) -> list[str]:
    """Split on commas that are not inside ``[...]``; reject unbalanced or nested brackets."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in raw:
        if char == "[":
            depth += 1
            if depth > 1:
                raise _invalid(param, "nested brackets are not allowed")
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise _invalid(param, "']' without a matching '['")
        elif char == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    if depth:
        raise _invalid(param, "'[' is never closed")
    items.append("".join(current))
    return [item.strip() for item in items]


class ListParamsBuilder:
    """A dependency that parses list query parameters into ``params_model``.

    Pass subclasses whose ``field`` is a ``Literal`` to whitelist what clients may sort and
    filter on.
    """

    def __init__(
        self,
        params_model: type[ListParams] = ListParams,
        sort_model: type[SortParam] = SortParam,
        filter_model: type[FilterParam] = FilterParam,
        *,
        max_sort_items: int = 5,
        max_filter_items: int = 10,
        max_filter_values: int = 100,
    ) -> None:
        self.params_model = params_model
        self.sort_model = sort_model
        self.filter_model = filter_model
        self.max_sort_items = max_sort_items
        self.max_filter_items = max_filter_items
        self.max_filter_values = max_filter_values
        # FastAPI reads this signature: it documents the whitelisted syntax as a pattern.
        self.__signature__ = self._signature()

    def _filter_alternatives(self) -> list[str]:
        """One ``field:value`` or ``field:[v,...]`` regex per field (or any field name)."""
        patterns = self.filter_model.value_patterns
        names = [re.escape(name) for name in _allowed_fields(self.filter_model)]
        alternatives = []
        for name in names or ["[A-Za-z_][A-Za-z0-9_]*"]:
            value = f"(?:{patterns[name]})" if name in patterns else ANY_VALUE
            values = f"(?:{value}(?:,{value}){{0,{self.max_filter_values - 1}}})?"
            alternatives.append(f"{name}:(?:{value}|\\[{values}\\])")
        return alternatives

    def _signature(self) -> inspect.Signature:
        sort_item = f"{_field_pattern(self.sort_model)}(?::(?:asc|desc))?"
        filter_item = "(?:" + "|".join(self._filter_alternatives()) + ")"
        documented = {
            "sort": (
                _repeated(sort_item, self.max_sort_items),
                "Comma-separated `field:asc|desc` items, e.g. `id:desc,username:asc`; "
                f"fields: {', '.join(_allowed_fields(self.sort_model)) or 'any column'}.",
            ),
            "filters": (
                _repeated(filter_item, self.max_filter_items),
                "Comma-separated `field:value` or `field:[a,b]` items, e.g. `id:[1,2]`; "
                f"fields: {', '.join(_allowed_fields(self.filter_model)) or 'any column'}.",
            ),
        }
        parameters = []
        for parameter in inspect.signature(type(self).__call__).parameters.values():
            if parameter.name == "self":
                continue
            if parameter.name in documented:
                pattern, description = documented[parameter.name]
                query = Query(
                    max_length=MAX_QUERY_LENGTH,
                    description=description,
                    json_schema_extra={"pattern": pattern},
                )
                parameter = parameter.replace(annotation=Annotated[str | None, query])
            parameters.append(parameter)
        return inspect.Signature(parameters, return_annotation=ListParams)

    async def __call__(
        self,
        # Documented by the signature built in __init__ (with the whitelist as a pattern).
        sort: str | None = None,
        filters: str | None = None,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")] = 1,
        per_page: Annotated[
            int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page.")
        ] = DEFAULT_PER_PAGE,
    ) -> ListParams:
        return self.params_model(
            page=page,
            per_page=per_page,
            sort=self.parse_sort(sort),
            filters=self.parse_filters(filters),
        )

    def parse_sort(self, raw: str | None) -> list[SortParam] | None:
        if raw is None or not raw.strip():
            return None
        _check_text("sort", raw)
        parts = raw.split(",")
        if len(parts) > self.max_sort_items:
            raise _invalid("sort", f"at most {self.max_sort_items} sort items are allowed")
        result: list[SortParam] = []
        seen: set[str] = set()
        for part in parts:
            field, _, order = part.strip().partition(":")
            field, order = field.strip(), order.strip() or "asc"
            if field in seen:
                continue  # the first mention decides
            seen.add(field)
            result.append(self._build(self.sort_model, "sort", field=field, order=order))
        return result

    def parse_filters(self, raw: str | None) -> list[FilterParam] | None:
        if raw is None or not raw.strip():
            return None
        _check_text("filters", raw)
        items = split_top_level(raw, "filters")
        if len(items) > self.max_filter_items:
            raise _invalid("filters", f"at most {self.max_filter_items} filters are allowed")
        result: list[FilterParam] = []
        for item in items:
            field, separator, value = item.partition(":")
            if not separator or not field.strip():
                raise _invalid("filters", "each filter must be of the form field:value")
            field, parsed = field.strip(), self._value(value)
            self._check_value_pattern(field, parsed)
            result.append(self._build(self.filter_model, "filters", field=field, value=parsed))
        return result

    def _check_value_pattern(self, field: str, value: str | list[str]) -> None:
        pattern = self.filter_model.value_patterns.get(field)
        if pattern is None:
            return
        for item in value if isinstance(value, list) else [value]:
            if not re.fullmatch(pattern, item):
                raise _invalid("filters", f"invalid value for {field!r}: it must match {pattern}")

    def _value(self, raw: str) -> str | list[str]:
        raw = raw.strip()
        if not raw.startswith("["):
            if "]" in raw:
                raise _invalid("filters", "']' without a matching '['")
            return raw
        if not raw.endswith("]"):
            raise _invalid("filters", "a list value must end with ']'")
        inner = raw[1:-1].strip()
        values = [value.strip() for value in inner.split(",")] if inner else []
        if len(values) > self.max_filter_values:
            raise _invalid("filters", f"a list may hold at most {self.max_filter_values} values")
        return values

    def _build(self, model: type[M], param: str, **data: Any) -> M:
        try:
            return model(**data)
        except pydantic.ValidationError as error:
            field = data["field"]
            bad = {str(err["loc"][0]) for err in error.errors() if err["loc"]}
            if "field" in bad:
                allowed = ", ".join(_allowed_fields(model)) or "none"
                message = f"unknown field; allowed: {allowed}"
            else:
                message = f"invalid item for {field!r}: {error.errors()[0]['msg']}"
            raise _invalid(param, message) from None
