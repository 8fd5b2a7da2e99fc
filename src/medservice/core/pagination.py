"""Pages of long lists that cost about the same on page 40,000 as on page 1.

`OFFSET n` makes the database produce and throw away n rows, and a list query throws them away
only after joining each of them to its related rows (`select_related`). A page here is read in
two steps inside one query (a *deferred join*): the ids of the page's rows, found with the
list's own filters and ordering (`SELECT id … ORDER BY … LIMIT 25 OFFSET n`, which an index can
answer without reading the rows), then only those rows with their joins and prefetches. A page
in the second half of the list is read from the other end with the ordering reversed, so the
last page is as cheap as the first. A filtered list of at most `SORT_AFTER_FILTER_MAX` rows
has its ids sorted after filtering rather than read in index order (`sorts_after_filter`).

The UI's generic list and the API's numbered pages use it; the API's `?cursor=` pages (keyset)
are in `core/api/pagination.py`. Decision record: docs/decisions/0006-deep-pages-and-search.md.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce
from django.db.models.query import ModelIterable

# A filtered list with at most this many rows sorts its ids after filtering (a few ms).
SORT_AFTER_FILTER_MAX = 10_000


def query_ordering(queryset: QuerySet) -> list[Any]:
    """The ordering the queryset's SQL will use: its `order_by()`, else the model's default."""
    query = queryset.query
    if query.order_by:
        return list(query.order_by)
    if query.default_ordering and queryset.model._meta.ordering:
        return list(queryset.model._meta.ordering)
    return []


def total_ordering(queryset: QuerySet) -> list[Any]:
    """The queryset's ordering with the primary key added as the last tie-break (unless it is
    already there), so that every row has one place and a page is the same rows each time."""
    ordering = query_ordering(queryset)
    meta = queryset.model._meta
    pk_names = {"pk", meta.pk.name, meta.pk.attname}
    if not any(isinstance(term, str) and term.lstrip("-") in pk_names for term in ordering):
        ordering.append("pk")
    return ordering


def deferred_join_applies(queryset: Any) -> bool:
    """Whether `page_rows` can read this queryset through its ids (a plain, ordered model
    queryset: not sliced, not DISTINCT, not a UNION, returning model instances)."""
    if not isinstance(queryset, QuerySet):
        return False
    query = queryset.query
    return (
        queryset._iterable_class is ModelIterable
        and not query.is_sliced
        and not query.distinct
        and not query.combinator
        and bool(query_ordering(queryset))
    )


def sorts_after_filter(queryset: QuerySet, total: int) -> bool:
    """Whether a page of this filtered list should find its rows by the filters first and sort
    them afterwards, instead of reading an index in list order until enough rows match.

    PostgreSQL believes that a substring search (`UPPER(col) LIKE '%x%'`) matches at least one
    row in 10,000 per column, so for a page of `ORDER BY id DESC LIMIT 25` it walks the
    primary key backwards, testing every row, rather than asking the trigram indexes for the
    few matches and sorting them: a rare serial took 400–700 ms on a million units instead of
    a few. The count (known before the page) says how many rows match: up to
    `SORT_AFTER_FILTER_MAX` they are sorted after filtering. An unfiltered list keeps its index
    order (reading the first 25 of it is the fastest there is)."""
    return 0 < total <= SORT_AFTER_FILTER_MAX and bool(queryset.query.where)


def unindexed_ordering(queryset: QuerySet, ordering: list[Any]) -> list[Any] | None:
    """The same ordering written so that no index can deliver it (`COALESCE(col, col)` sorts
    exactly like `col`, NULLs included), making the database filter first and sort after; None
    when a term is not a plain column of the model (a relation sorts by its model's ordering,
    an annotation or expression is left alone)."""
    meta = queryset.model._meta
    unindexed = []
    for term in ordering:
        if not isinstance(term, str) or term == "?":
            return None
        name = term.lstrip("-")
        try:
            field = meta.pk if name == "pk" else meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not getattr(field, "concrete", False) or field.is_relation:
            return None
        column = F(name)
        unindexed.append(OrderBy(Coalesce(column, column), descending=term.startswith("-")))
    return unindexed


def page_rows(queryset: Any, start: int, stop: int, total: int) -> Any:
    """`queryset[start:stop]`, the same rows in the same order, found through their ids first.

    `total` is the queryset's count (the paginator has it): a page nearer the end than the
    start is found by reversing the ordering and counting from the end. Querysets where this
    does not apply are sliced as they are. One query either way; the result is a queryset.
    """
    if stop <= start or not deferred_join_applies(queryset):
        return queryset[start:stop]
    ordering = total_ordering(queryset)
    ordered = queryset.order_by(*ordering)
    finder = ordered
    if sorts_after_filter(queryset, total):
        unindexed = unindexed_ordering(queryset, ordering)
        if unindexed is not None:
            finder = queryset.order_by(*unindexed)
    if start > total - stop and total >= stop:
        ids = finder.reverse().values("pk")[total - stop : total - start]
    else:
        ids = finder.values("pk")[start:stop]
    return ordered.filter(pk__in=ids)


class DeferredJoinPaginator(Paginator):
    """Django's Paginator (page numbers, count, orphans, `get_page`) whose pages are read with
    `page_rows`: the rows skipped before a page are never joined, and a page in the second
    half is counted from the end."""

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(page_rows(self.object_list, bottom, top, self.count), number, self)
