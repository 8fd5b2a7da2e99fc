"""`GET /api/v1/kpis/` and a KPI's figure and records: the same functions as the KPI page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medservice.analytics.forms import KpiFilterForm
from medservice.analytics.kpis import (
    KPIS,
    KpiDefinition,
    KpiFilter,
    KpiResult,
    kpi_compute,
    kpis_for,
)
from medservice.analytics.snapshots import KpiPending, kpi_figures_or_pending, stored_age
from medservice.analytics.views import fresh_asked
from medservice.core.api.pagination import StandardPagination
from medservice.core.errors import InvalidInputError

FILTER_PARAMETERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (local), YYYY-MM-DD; "
                     "default the first of this month."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, included; default today."),
    OpenApiParameter("region", str),
    OpenApiParameter("organization", int, description="Also counts its child organisations."),
    OpenApiParameter("device_model", int),
    OpenApiParameter("engineer", int, description="Internal users only."),
    OpenApiParameter("team", int, description="Internal users only."),
]  # fmt: skip


def code_parameter() -> OpenApiParameter:
    # Built when the schema is generated, after every area module registered its KPIs.
    return OpenApiParameter(
        "code", str, OpenApiParameter.PATH, enum=sorted(KPIS),
        description="A KPI code of docs/kpis.md.",
    )  # fmt: skip


FRESH_PARAMETER = OpenApiParameter(
    "fresh", bool, description="Compute the figures now instead of returning stored ones "
    "(up to ANALYTICS_SNAPSHOT_MAX_AGE old; see `source` and `age_seconds`).",
)  # fmt: skip

RESPONSES = {
    400: OpenApiResponse(description="Bad filter: the fields are named."),
    404: OpenApiResponse(description="No such KPI for your role."),
}


def _number(value: Any) -> Any:
    return None if value is None else str(value) if isinstance(value, Decimal) else value


def figure(result: KpiResult) -> dict[str, Any]:
    """One KPI figure as the API, the XLSX and the dashboards' JSON give it."""
    definition = result.definition
    target = result.target
    return {
        "code": definition.code,
        "name": str(definition.name),
        "unit": definition.unit,
        "statistic": str(definition.statistic),
        "value": _number(result.value),
        "numerator": _number(result.numerator),
        "denominator": _number(result.denominator),
        "median": _number(result.median),
        "p90": _number(result.p90),
        "mean": _number(result.mean),
        "target": None if target is None else {
            "id": target.pk, "value": _number(target.value), "direction": target.direction,
            "amber_band": _number(target.amber_band), "proposed": target.proposed,
        },
        "verdict": result.verdict,
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "provisional_until": result.provisional_until.isoformat()
        if result.provisional_until else None,
        "breakdown": [
            {"key": row.key, "label": str(row.label), "numerator": _number(row.numerator),
             "denominator": _number(row.denominator), "value": _number(row.value)}
            for row in result.breakdown
        ],
        "notes": [str(note) for note in result.notes],
        "source": result.source,
        "age_seconds": stored_age(result),
    }  # fmt: skip


def filter_from(request: Request) -> KpiFilter:
    form = KpiFilterForm(request.query_params, user=request.user)
    if not form.is_valid():
        raise InvalidInputError(
            _("The filter is not valid."),
            fields={name: [str(error) for error in errors] for name, errors in form.errors.items()},
        )
    return form.kpi_filter()


def definition_for(request: Request, code: str) -> KpiDefinition:
    definition = KPIS.get(code)
    if definition is None or not definition.available_to(request.user):
        raise Http404
    return definition


def _figure_fields() -> dict[str, serializers.Field]:
    # Fresh field instances each time: a field belongs to one serializer.
    return {
        "code": serializers.CharField(), "name": serializers.CharField(),
        "unit": serializers.CharField(), "statistic": serializers.CharField(),
        "value": serializers.CharField(allow_null=True),
        "numerator": serializers.CharField(allow_null=True),
        "denominator": serializers.CharField(allow_null=True),
        "median": serializers.CharField(allow_null=True),
        "p90": serializers.CharField(allow_null=True),
        "mean": serializers.CharField(allow_null=True),
        "target": serializers.DictField(allow_null=True),
        "verdict": serializers.CharField(allow_null=True),
        "as_of": serializers.DateTimeField(allow_null=True),
        "provisional_until": serializers.DateField(allow_null=True),
        "breakdown": serializers.ListField(child=serializers.DictField()),
        "notes": serializers.ListField(child=serializers.CharField()),
        "source": serializers.ChoiceField(
            choices=["live", "snapshot"],
            help_text="live: computed for this request; snapshot: a stored figure, "
                      "computed at as_of.",
        ),
        "age_seconds": serializers.IntegerField(
            allow_null=True, help_text="How old a stored figure is; null when live."
        ),
    }  # fmt: skip


FIGURE = inline_serializer("KpiFigure", fields=_figure_fields())


def _ready() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=["ready"], help_text="The figures are here (202 and status computing: not yet)."
    )


FIGURES = inline_serializer(
    "KpiFigures",
    fields={
        "status": _ready(), "from": serializers.DateField(), "to": serializers.DateField(),
        "results": serializers.ListField(child=serializers.DictField()),
    },
)  # fmt: skip

FIGURE_READY = inline_serializer("KpiFigureReady", fields={**_figure_fields(), "status": _ready()})

COMPUTING = inline_serializer(
    "KpiComputing",
    fields={
        "status": serializers.ChoiceField(choices=["computing"]),
        "detail": serializers.CharField(),
        "from": serializers.DateField(), "to": serializers.DateField(),
        "requested_at": serializers.DateTimeField(
            help_text="When the figures were asked for (by you or by a user of the same "
                      "scope: they share them)."),
        "retry_after": serializers.IntegerField(help_text="Seconds to wait before asking again."),
    },
)  # fmt: skip

COMPUTING_RESPONSE = OpenApiResponse(
    response=COMPUTING,
    description="The figures are being computed in the background: ask again after "
    "`Retry-After` seconds (the same request answers 200 once they are stored).",
)
RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After", int, OpenApiParameter.HEADER, response=[202],
    description="Seconds to wait before asking again.",
)  # fmt: skip


def computing(pending: KpiPending, kpi_filter: KpiFilter) -> Response:
    """202: the figures are not stored yet and a background task is computing them."""
    seconds = pending.retry_after
    detail = ngettext(
        "The figures are being computed; ask again in %(seconds)d second.",
        "The figures are being computed; ask again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
    return Response(
        {
            "status": "computing", "detail": detail,
            "from": kpi_filter.start.isoformat(), "to": kpi_filter.end.isoformat(),
            "requested_at": pending.requested_at.isoformat(), "retry_after": seconds,
        },
        status=202, headers={"Retry-After": str(seconds)},
    )  # fmt: skip


class KpiListView(APIView):
    """Every KPI the caller may see, computed over their scope with the given filters."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="kpis_list",
        parameters=[*FILTER_PARAMETERS, FRESH_PARAMETER, RETRY_AFTER_HEADER],
        responses={200: FIGURES, 202: COMPUTING_RESPONSE, **RESPONSES},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        definitions = kpis_for(request.user)
        if not definitions:
            raise Http404
        kpi_filter = filter_from(request)
        results = kpi_figures_or_pending(
            [item.code for item in definitions], kpi_filter,
            fresh=fresh_asked(request.query_params),
        )  # fmt: skip
        if isinstance(results, KpiPending):
            return computing(results, kpi_filter)
        return Response(
            {
                "status": "ready",
                "from": kpi_filter.start.isoformat(),
                "to": kpi_filter.end.isoformat(),
                "results": [figure(result) for result in results],
            }
        )


class KpiDetailView(APIView):
    """One KPI's figure."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="kpis_retrieve",
        parameters=[code_parameter(), *FILTER_PARAMETERS, FRESH_PARAMETER, RETRY_AFTER_HEADER],
        responses={200: FIGURE_READY, 202: COMPUTING_RESPONSE, **RESPONSES},
    )  # fmt: skip
    def get(self, request: Request, code: str) -> Response:
        definition = definition_for(request, code)
        kpi_filter = filter_from(request)
        results = kpi_figures_or_pending(
            [definition.code], kpi_filter, fresh=fresh_asked(request.query_params)
        )
        if isinstance(results, KpiPending):
            return computing(results, kpi_filter)
        (result,) = results
        return Response({**figure(result), "status": "ready"})


def record_row(definition: KpiDefinition, record: Any, measure: Any) -> dict[str, Any]:
    url = record.get_absolute_url() if hasattr(record, "get_absolute_url") else None
    return {
        "id": record.pk,
        "label": str(record),
        "url": url,
        "measure": _number(measure),
        "columns": {str(column.label): _number(_plain(column.read(record)))
                    for column in definition.columns},
    }  # fmt: skip


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Decimal | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class KpiRecordsView(APIView):
    """The records behind a KPI's figure, exactly those counted, one page at a time; `measure`
    is what each contributed (hours, or whether it is in the numerator)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="kpis_records_list",
        parameters=[code_parameter(), *FILTER_PARAMETERS, OpenApiParameter("page", int)],
        responses={200: OpenApiTypes.OBJECT, **RESPONSES},
    )
    def get(self, request: Request, code: str) -> Response:
        definition = definition_for(request, code)
        result = kpi_compute(definition.code, filter_from(request))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(result.listing(), request, view=self)
        rows = [record_row(definition, record, result.measures.get(record.pk)) for record in page]
        return paginator.get_paginated_response(rows)
