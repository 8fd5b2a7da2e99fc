"""API list pagination: page numbers as always, and keyset cursors where the order allows them.

- `?page=N` (and `page_size`) work as before; the page's rows are found through their ids
  first, and a page in the second half from the other end (`core.pagination`), so a deep page
  never joins the rows it skips.
- `?cursor=…` asks for a keyset page through DRF's own `CursorPagination`: `WHERE id < last
  ORDER BY id DESC LIMIT n`, as fast on the millionth row as on the first. It is offered when
  the list's order starts with a unique, non-null column of the record (the default `-id` of
  most resources, or e.g. `?ordering=number`); for other orders a cursor answers 400.
- For such orders `next` and `previous` are cursor links, also on a numbered page, so a client
  that follows the links walks the whole list by keyset. Elsewhere they stay page numbers.

Every answer keeps `{"count", "next", "previous", "results"}`. Decision record:
docs/decisions/0006-deep-pages-and-search.md.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param

from medservice.core.pagination import DeferredJoinPaginator, query_ordering

PAGE_SIZE_PARAM = "page_size"
MAX_PAGE_SIZE = 200


def keyset_key(queryset: models.QuerySet) -> tuple[str, models.Field] | None:
    """(ordering term, field) when the queryset's order starts with a unique, non-null column
    of its own model (so a value of it is one row's place), else None: such an order can be
    paged by keyset; DRF's cursor compares the first ordering term only."""
    ordering = query_ordering(queryset)
    if not ordering or not isinstance(ordering[0], str):
        return None
    term = ordering[0]
    name = term.lstrip("-")
    if not name or name == "?" or "__" in name:
        return None
    meta = queryset.model._meta
    try:
        field = meta.pk if name == "pk" else meta.get_field(name)
    except FieldDoesNotExist:  # an annotation
        return None
    if not getattr(field, "concrete", False) or field.is_relation or field.null:
        return None
    if not (field.primary_key or field.unique):
        return None
    return term, field


class KeysetCursorPagination(CursorPagination):
    """DRF's cursor pagination over the one unique column `StandardPagination` found. A cursor
    whose position is not a value of that column is an invalid cursor (404), as DRF answers
    for any other broken cursor; the links it makes drop a `page` parameter."""

    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE

    def __init__(self, term: str, field: models.Field) -> None:
        self.ordering = (term,)
        self.key_field = field

    def get_ordering(self, request: Request, queryset: Any, view: Any = None) -> tuple[str, ...]:
        return self.ordering

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                self.key_field.to_python(cursor.position)
            except (DjangoValidationError, TypeError, ValueError):
                raise NotFound(self.invalid_cursor_message) from None
            if "\x00" in cursor.position:
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def encode_cursor(self, cursor: Cursor) -> str:
        return remove_query_param(super().encode_cursor(cursor), "page")

    def position_of(self, row: Any) -> str:
        return str(getattr(row, self.key_field.attname))


class StandardPagination(PageNumberPagination):
    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
    django_paginator_class = DeferredJoinPaginator
    cursor_query_param = "cursor"
    cursor_query_description = _(
        "A cursor from a `next` or `previous` link: pages by the last row seen instead of a "
        "page number (lists in their default order or ordered by a unique field)."
    )

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        self.request = request
        self.cursor_pager: KeysetCursorPagination | None = None
        self.rows: list[Any] = []
        key = keyset_key(queryset) if isinstance(queryset, models.QuerySet) else None
        self.keyset = KeysetCursorPagination(*key) if key else None
        if not request.query_params.get(self.cursor_query_param):  # an empty one too
            rows = super().paginate_queryset(queryset, request, view)
            self.rows = rows or []
            if self.keyset is not None:
                self.keyset.base_url = request.build_absolute_uri()
            return rows
        if self.keyset is None:
            raise ValidationError(
                {
                    self.cursor_query_param: [
                        _(
                            "A cursor pages only a list in its default order or ordered by a "
                            "unique field; use page numbers for this order."
                        )
                    ]
                }
            )
        self.count = queryset.count()  # the whole list's, as on a numbered page
        self.cursor_pager = self.keyset
        rows = self.cursor_pager.paginate_queryset(queryset, request, view)
        self.display_page_controls = getattr(self.cursor_pager, "display_page_controls", False)
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        count = self.count if self.cursor_pager is not None else self.page.paginator.count
        return Response(
            {
                "count": count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_next_link(self) -> str | None:
        if self.cursor_pager is not None:
            return self.cursor_pager.get_next_link()
        if self.keyset is None or not self.rows:
            return super().get_next_link()
        if not self.page.has_next():
            return None
        position = self.keyset.position_of(self.rows[-1])
        return self.keyset.encode_cursor(Cursor(offset=0, reverse=False, position=position))

    def get_previous_link(self) -> str | None:
        if self.cursor_pager is not None:
            return self.cursor_pager.get_previous_link()
        if self.keyset is None or not self.rows:
            return super().get_previous_link()
        if not self.page.has_previous():
            return None
        position = self.keyset.position_of(self.rows[0])
        return self.keyset.encode_cursor(Cursor(offset=0, reverse=True, position=position))

    def to_html(self) -> str:
        if self.cursor_pager is not None:
            return self.cursor_pager.to_html()
        return super().to_html()

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": force_str(self.cursor_query_description),
                "schema": {"type": "string"},
            },
        ]
