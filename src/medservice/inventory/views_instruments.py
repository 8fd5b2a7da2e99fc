"""Tools and instruments pages: the registry resource (list, detail, new, edit), the instrument's
page with its calibration state, calibrations and checkouts, and the check-out, check-in and
record-calibration forms posting to their action views."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Related, Resource, register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.inventory.api.instruments import InstrumentSerializer, holder_choices
from medservice.inventory.choices import (
    CalibrationResult,
    InstrumentKind,
    InstrumentStatus,
)
from medservice.inventory.instruments import (
    EDITABLE_STATUSES,
    calibration_refusal,
    instrument_calibration_record,
    instrument_check_in,
    instrument_check_out,
    instrument_create,
    instrument_update,
)
from medservice.inventory.models import Instrument, InstrumentCalibration, InstrumentCheckout
from medservice.inventory.selectors import instruments_visible_to, locations_visible_to

DATE_WIDGET = {"attrs": {"type": "date", "class": "form-control"}, "format": "%Y-%m-%d"}


class InstrumentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=gettext_lazy("Kind"), choices=InstrumentKind.choices)
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=InstrumentStatus.choices
    )
    calibration_due_before = django_filters.DateFilter(
        field_name="calibration_due_on",
        lookup_expr="lte",
        label=gettext_lazy("Calibration due on or before"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Instrument
        fields = ["kind", "status", "calibration_due_before"]


class InstrumentForm(ResourceForm):
    """The registry entry; "checked out" is set by a check-out only."""

    class Meta:
        model = Instrument
        fields = [
            "number",
            "name",
            "kind",
            "model_spec",
            "serial_number",
            "manufacturer",
            "home_location",
            "status",
            "calibration_interval_days",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home_location"].queryset = locations_visible_to(self.user)
        status = self.fields["status"]
        current = self.instance.status if self.instance.pk else None
        status.choices = [
            (value, label)
            for value, label in InstrumentStatus.choices
            if value in EDITABLE_STATUSES or value == current
        ]
        if current == InstrumentStatus.CHECKED_OUT:
            status.disabled = True


class HolderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        # Two staff may share a name: the user name tells them apart.
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else obj.username


class CheckOutForm(forms.Form):
    holder = HolderChoiceField(
        label=gettext_lazy("Hand to"),
        queryset=None,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    due_back_on = forms.DateField(
        label=gettext_lazy("Due back on"), required=False, widget=forms.DateInput(**DATE_WIDGET)
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holder"].queryset = holder_choices(user).order_by("username")


class CheckInForm(forms.Form):
    condition_note = forms.CharField(
        label=gettext_lazy("Condition on return"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


class CalibrationForm(forms.Form):
    calibrated_on = forms.DateField(
        label=gettext_lazy("Calibrated on"), widget=forms.DateInput(**DATE_WIDGET)
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"), widget=forms.DateInput(**DATE_WIDGET)
    )
    performed_by = forms.CharField(
        label=gettext_lazy("Calibrated by (laboratory)"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    certificate_number = forms.CharField(
        label=gettext_lazy("Certificate number"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    result = forms.ChoiceField(
        label=gettext_lazy("Result"),
        choices=CalibrationResult.choices,
        initial=CalibrationResult.PASSED,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    certificate = forms.FileField(
        label=gettext_lazy("Certificate"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"class": "form-control"}),
    )


def _calibrations_of(instrument: Instrument, user: Any) -> QuerySet[InstrumentCalibration]:
    return InstrumentCalibration.objects.filter(
        instrument__in=instruments_visible_to(user), instrument=instrument
    ).order_by("-calibrated_on", "-pk")


def _checkouts_of(instrument: Instrument, user: Any) -> QuerySet[InstrumentCheckout]:
    return (
        InstrumentCheckout.objects.filter(
            instrument__in=instruments_visible_to(user), instrument=instrument
        )
        .select_related("holder")
        .order_by("-checked_out_at", "-pk")
    )


class InstrumentDetailView(ResourceDetailView):
    extra_template = "inventory/instrument_panel.html"

    def extra_context_for(self, obj: Instrument) -> dict[str, Any]:
        user = self.request.user
        may_checkout = user.has_perm("inventory.checkout_instrument")
        may_calibrate = user.has_perm("inventory.add_instrumentcalibration")
        bound = getattr(self, "bound_forms", {})
        today = timezone.localdate()
        return {
            "instrument": obj,
            "calibration_refusal": calibration_refusal(obj, on=today),
            "days_to_due": (obj.calibration_due_on - today).days
            if obj.calibration_due_on
            else None,
            "check_out_form": bound.get("check-out") or CheckOutForm(user=user)
            if may_checkout and obj.status == InstrumentStatus.AVAILABLE
            else None,
            "check_in_form": bound.get("check-in") or CheckInForm()
            if may_checkout and obj.status == InstrumentStatus.CHECKED_OUT
            else None,
            "calibration_form": bound.get("calibrate") or CalibrationForm()
            if may_calibrate
            and obj.status in {InstrumentStatus.AVAILABLE, InstrumentStatus.IN_CALIBRATION}
            else None,
            "open_form": next(iter(bound), ""),
            "certificates": list(_calibrations_of(obj, user).exclude(certificate="")[:10])
            if user.has_perm("inventory.view_instrumentcalibration")
            else [],
        }


instruments = register(
    Resource(
        name="instruments",
        model=Instrument,
        selector=instruments_visible_to,
        namespace="inventory",
        list_columns=[
            "number",
            "name",
            "kind",
            "status",
            "holder",
            "calibration_due_on",
            "home_location",
        ],
        detail_fields=[
            "number",
            "name",
            "kind",
            "model_spec",
            "serial_number",
            "manufacturer",
            "home_location",
            "status",
            "holder",
            "calibration_interval_days",
            "calibration_due_on",
            "notes",
        ],
        export_fields=[
            "id",
            "number",
            "name",
            "kind",
            "model_spec",
            "serial_number",
            "manufacturer",
            "home_location",
            "status",
            "holder",
            "calibration_interval_days",
            "calibration_due_on",
        ],
        form_class=InstrumentForm,
        filterset_class=InstrumentFilter,
        serializer_class=InstrumentSerializer,
        search_fields=["number", "name", "serial_number"],
        ordering_fields=["number", "name", "calibration_due_on", "status"],
        default_ordering=["number"],
        select_related=["holder", "home_location"],
        create=instrument_create,
        update=instrument_update,
        delete=None,
        organization_scoped=False,
        detail_view=InstrumentDetailView,
        related=[
            Related(
                gettext_lazy("Calibrations"),
                _calibrations_of,
                [
                    "calibrated_on",
                    "valid_until",
                    "result",
                    "performed_by",
                    "certificate_number",
                    "recorded_by",
                ],
            ),
            Related(
                gettext_lazy("Checkouts"),
                _checkouts_of,
                ["checked_out_at", "holder", "due_back_on", "checked_in_at", "condition_note"],
            ),
        ],
    )
)


def _scoped_instrument(request: HttpRequest, pk: int) -> Instrument:
    if not request.user.has_perm("inventory.view_instrument"):
        raise Http404
    return get_object_or_404(instruments_visible_to(request.user), pk=pk)


def _detail_again(
    request: HttpRequest, instrument: Instrument, status: int, bound: dict[str, Any]
) -> HttpResponse:
    view = InstrumentDetailView()
    view.resource = instruments
    view.request = request
    view.kwargs = {"pk": instrument.pk}
    view.bound_forms = bound
    response = view.get(request, pk=instrument.pk)
    response.status_code = status
    return response


def _refused(
    request: HttpRequest, instrument: Instrument, name: str, form: forms.Form, error: DomainError
) -> HttpResponse:
    form.add_error(None, error.message)
    for field, problems in error.fields.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
    return _detail_again(request, instrument, error.status, {name: form})


@login_required
@require_POST
def instrument_check_out_view(request: HttpRequest, pk: int) -> HttpResponse:
    instrument = _scoped_instrument(request, pk)
    form = CheckOutForm(request.POST, user=request.user)
    if not form.is_valid():
        return _detail_again(request, instrument, 400, {"check-out": form})
    try:
        instrument_check_out(
            actor=request.user,
            instrument=instrument,
            holder=form.cleaned_data["holder"],
            due_back_on=form.cleaned_data["due_back_on"],
        )
    except DomainError as error:
        return _refused(request, instrument, "check-out", form, error)
    messages.success(request, _("%(instrument)s is checked out.") % {"instrument": instrument})
    return redirect("inventory:instruments-detail", pk=instrument.pk)


instrument_check_out_view.resource = instruments  # type: ignore[attr-defined]


@login_required
@require_POST
def instrument_check_in_view(request: HttpRequest, pk: int) -> HttpResponse:
    instrument = _scoped_instrument(request, pk)
    form = CheckInForm(request.POST)
    if not form.is_valid():
        return _detail_again(request, instrument, 400, {"check-in": form})
    try:
        instrument_check_in(
            actor=request.user,
            instrument=instrument,
            condition_note=form.cleaned_data["condition_note"],
        )
    except DomainError as error:
        return _refused(request, instrument, "check-in", form, error)
    messages.success(request, _("%(instrument)s is checked in.") % {"instrument": instrument})
    return redirect("inventory:instruments-detail", pk=instrument.pk)


instrument_check_in_view.resource = instruments  # type: ignore[attr-defined]


@login_required
@require_POST
def instrument_calibrate_view(request: HttpRequest, pk: int) -> HttpResponse:
    instrument = _scoped_instrument(request, pk)
    form = CalibrationForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_again(request, instrument, 400, {"calibrate": form})
    try:
        instrument_calibration_record(actor=request.user, instrument=instrument,
                                      **form.cleaned_data)  # fmt: skip
    except DomainError as error:
        return _refused(request, instrument, "calibrate", form, error)
    messages.success(
        request, _("The calibration of %(instrument)s is recorded.") % {"instrument": instrument}
    )
    return redirect("inventory:instruments-detail", pk=instrument.pk)


instrument_calibrate_view.resource = instruments  # type: ignore[attr-defined]


@login_required
def instrument_certificate(request: HttpRequest, pk: int) -> HttpResponse:
    """Download a calibration certificate; scoped through the instrument (404 outside)."""
    from django.http import FileResponse

    if not request.user.has_perm("inventory.view_instrumentcalibration"):
        raise Http404
    calibration = get_object_or_404(
        InstrumentCalibration.objects.filter(
            instrument__in=instruments_visible_to(request.user)
        ).exclude(certificate=""),
        pk=pk,
    )
    return FileResponse(
        calibration.certificate.open("rb"),
        as_attachment=False,
        filename=calibration.certificate.name.rsplit("/", 1)[-1],
    )


instrument_certificate.resource = instruments  # type: ignore[attr-defined]


urlpatterns = [
    *resource_urlpatterns(instruments),
    path("instruments/<int:pk>/check-out/", instrument_check_out_view,
         name="instrument-check-out"),
    path("instruments/<int:pk>/check-in/", instrument_check_in_view, name="instrument-check-in"),
    path("instruments/<int:pk>/calibrate/", instrument_calibrate_view,
         name="instrument-calibrate"),
    path("instruments/calibrations/<int:pk>/certificate/", instrument_certificate,
         name="instrument-certificate"),
]  # fmt: skip
