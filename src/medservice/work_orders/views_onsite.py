"""The on-site pages of work orders: the action forms of the work itself (diagnosis, parts,
time, acceptance test and its override, screening, remote sessions, workshop and supplier
steps), the record-page panel that shows what was done, and the phone page's checklist.

Forms check shape only; the services in onsite.py decide. Where a form's rows are numbered
differently from the service's list (empty rows are skipped), the form translates the
service's field names (`results.2.instrument`) back to its own before the refusal is shown."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core.errors import DomainError
from medservice.work_orders.choices import RemoteOutcome, TimeKind
from medservice.work_orders.models import FileKind, WorkOrder
from medservice.work_orders.onsite import (
    TestInput,
    acceptance_test_state,
    diagnosis_record,
    is_numeric,
    loan_unit_refusal,
    parts_record,
    reference_instrument_refusal,
    remote_session_record,
    screening_record,
    supplier_receive,
    supplier_send,
    test_override,
    test_record,
    time_record,
    unit_receive,
    unit_ship_back,
    work_start,
)
from medservice.work_orders.panels import Panel, panel_register
from medservice.work_orders.views import (
    ActionForm,
    ActionSpec,
    VisitSection,
    action_form_register,
    bootstrap,
    visit_section_register,
)

urlpatterns: list = []

YES_NO = [("", "—"), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]
PASS_FAIL = [("", "—"), ("pass", gettext_lazy("Pass")), ("fail", gettext_lazy("Fail"))]


def _answer(value: str) -> bool | None:
    return {"yes": True, "no": False, "pass": True, "fail": False}.get(value)


def _renamed(form: Any, call: Callable[[], Any]) -> Any:
    """Run the service; a refusal comes back with its fields named as the form names them."""
    try:
        return call()
    except DomainError as error:
        names = form.service_fields()
        error.fields = {names.get(name, name): problems for name, problems in error.fields.items()}
        raise


# --- Diagnosis ----------------------------------------------------------------------------------


class DiagnosisForm(ActionForm):
    symptom = forms.CharField(
        label=gettext_lazy("Symptom"), widget=forms.Textarea(attrs={"rows": 2})
    )
    fault_code = forms.ModelChoiceField(
        label=gettext_lazy("Fault code"), queryset=None, required=False
    )
    root_cause = forms.CharField(
        label=gettext_lazy("Root cause"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    actions_taken = forms.CharField(
        label=gettext_lazy("Actions taken"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    guidance = forms.CharField(
        label=gettext_lazy("Guidance given to the user"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    document_version = forms.ModelChoiceField(
        label=gettext_lazy("Service procedure version followed"), queryset=None, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from medservice.catalog.selectors import fault_codes_visible_to
        from medservice.training.documents import document_versions_in_force
        from medservice.training.selectors import document_versions_visible_to

        super().__init__(*args, **kwargs)
        device_model = self.work_order.device.device_model
        self.fields["fault_code"].queryset = (
            fault_codes_visible_to(self.user)
            .filter(product_line_id=device_model.product_line_id)
            .order_by("code")
        )
        self.fields["document_version"].queryset = (
            document_versions_in_force(on=timezone.localdate())
            .filter(document__device_models=device_model)
            .filter(pk__in=document_versions_visible_to(self.user).values("pk"))
            .select_related("document")
            .order_by("document__code")
        )
        for name in ("symptom", "fault_code", "root_cause", "actions_taken", "guidance",
                     "document_version"):  # fmt: skip
            self.fields[name].initial = getattr(self.work_order, name)


# --- Parts --------------------------------------------------------------------------------------


class PartsForm(ActionForm):
    """Up to three parts fitted (from what the engineer holds, with the lot or serial) and two
    removed (the lot or serial as read on the part)."""

    FITTED = 3
    REMOVED = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from medservice.inventory.choices import Condition
        from medservice.inventory.models import Part, PartLot, StockBalance
        from medservice.inventory.selectors import parts_visible_to
        from medservice.inventory.services import engineer_location_for

        super().__init__(*args, **kwargs)
        self.location = engineer_location_for(self.user, create=False)
        held = StockBalance.objects.filter(
            location=self.location, condition=Condition.GOOD, quantity__gt=0
        )
        in_stock = Part.objects.filter(pk__in=held.values("part_id")).order_by("number")
        lots = PartLot.objects.filter(pk__in=held.values("lot_id")).order_by("expiry_date", "pk")
        parts = parts_visible_to(self.user).filter(active=True)
        compatible = parts.filter(compatible_models=self.work_order.device.device_model_id)
        order = []
        for row in range(1, self.FITTED + 1):
            self.fields[f"fitted_part_{row}"] = forms.ModelChoiceField(
                label=_("Part fitted %(row)s") % {"row": row}, queryset=in_stock, required=False
            )
            self.fields[f"fitted_lot_{row}"] = forms.ModelChoiceField(
                label=_("Lot or serial %(row)s") % {"row": row}, queryset=lots, required=False
            )
            self.fields[f"fitted_quantity_{row}"] = forms.DecimalField(
                label=_("Quantity %(row)s") % {"row": row}, required=False,
                min_value=Decimal("0.001"), max_digits=12, decimal_places=3,
            )  # fmt: skip
            order += [f"fitted_part_{row}", f"fitted_lot_{row}", f"fitted_quantity_{row}"]
        for row in range(1, self.REMOVED + 1):
            self.fields[f"removed_part_{row}"] = forms.ModelChoiceField(
                label=_("Part removed %(row)s") % {"row": row},
                queryset=(compatible if compatible.exists() else parts).order_by("number"),
                required=False,
            )
            self.fields[f"removed_lot_{row}"] = forms.CharField(
                label=_("Lot or serial of the removed part %(row)s") % {"row": row},
                required=False, max_length=100,
            )  # fmt: skip
            self.fields[f"removed_quantity_{row}"] = forms.DecimalField(
                label=_("Quantity removed %(row)s") % {"row": row}, required=False,
                min_value=Decimal("0.001"), max_digits=12, decimal_places=3,
            )  # fmt: skip
            order += [f"removed_part_{row}", f"removed_lot_{row}", f"removed_quantity_{row}"]
        self.order_fields(order)
        self.rows: dict[str, list[int]] = {"fitted": [], "removed": []}
        bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for side, count in (("fitted", self.FITTED), ("removed", self.REMOVED)):
            for row in range(1, count + 1):
                part = data.get(f"{side}_part_{row}")
                quantity = data.get(f"{side}_quantity_{row}")
                lot = data.get(f"{side}_lot_{row}")
                if part is None and (quantity or lot):
                    self.add_error(f"{side}_part_{row}", _("Choose the part."))
                if part is not None:
                    self.rows[side].append(row)
                    if side == "fitted" and lot is not None and lot.part_id != part.pk:
                        self.add_error(f"fitted_lot_{row}", _("This lot belongs to another part."))
        if not self.rows["fitted"] and not self.rows["removed"] and not self.errors:
            raise forms.ValidationError(_("Name at least one part fitted or removed."))
        return data

    def lines(self, side: str) -> list[tuple[Any, Decimal, Any]]:
        data = self.cleaned_data
        # An empty quantity means one: most parts are fitted one at a time.
        return [
            (
                data[f"{side}_part_{row}"],
                data.get(f"{side}_quantity_{row}") or Decimal(1),
                data.get(f"{side}_lot_{row}") or (None if side == "fitted" else ""),
            )
            for row in self.rows[side]
        ]

    def service_fields(self) -> dict[str, str]:
        names = {}
        for side, rows in self.rows.items():
            for position, row in enumerate(rows, start=1):
                names[f"{side}.{position}.part"] = f"{side}_part_{row}"
                names[f"{side}.{position}.quantity"] = f"{side}_quantity_{row}"
                names[f"{side}.{position}.lot"] = f"{side}_lot_{row}"
                names[f"{side}.{position}.lot_number"] = f"{side}_lot_{row}"
                names[f"{side}.{position}.serial_number"] = f"{side}_lot_{row}"
        return names


# --- Time ---------------------------------------------------------------------------------------


class TimeForm(ActionForm):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TimeKind.choices)
    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.DecimalField(
        label=gettext_lazy("Hours"), min_value=Decimal("0.01"), max_value=24, max_digits=6,
        decimal_places=2,
    )  # fmt: skip
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day"].initial = timezone.localdate()


# --- Acceptance test ----------------------------------------------------------------------------


def valid_instruments(user: Any) -> Any:
    """The reference instruments the user may pick today: calibration valid on the day."""
    from medservice.inventory.models import Instrument
    from medservice.inventory.selectors import instruments_visible_to

    today = timezone.localdate()
    candidates = instruments_visible_to(user).filter(calibrations__isnull=False).distinct()
    usable = [
        instrument.pk
        for instrument in candidates
        if not reference_instrument_refusal(instrument, on=today)
    ]
    return Instrument.objects.filter(pk__in=usable).order_by("number")


class TestForm(ActionForm):
    """One field per check of the model's acceptance test: the measured value and the
    reference instrument for a numeric check, pass or fail for the others. Checks left empty
    are not recorded now."""

    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(
            self.work_order.device.device_model.acceptance_items.order_by("position", "pk")
        )
        earlier = {result.item_id: result for result in self.work_order.test_results.all()}
        instruments = valid_instruments(self.user)
        for item in self.items:
            result = earlier.get(item.pk)
            if is_numeric(item):
                self.fields[f"measured_{item.pk}"] = forms.DecimalField(
                    label=_("%(check)s: measured (%(expected)s ± %(tolerance)s %(unit)s)")
                    % {
                        "check": item.name,
                        "expected": _plain(item.expected_value),
                        "tolerance": _plain(item.tolerance or 0),
                        "unit": item.unit,
                    },
                    required=False, max_digits=14, decimal_places=4,
                    initial=result.measured_value if result else None,
                )  # fmt: skip
                self.fields[f"instrument_{item.pk}"] = forms.ModelChoiceField(
                    label=_("%(check)s: reference instrument") % {"check": item.name},
                    queryset=instruments, required=False,
                    initial=result.instrument_id if result else None,
                )  # fmt: skip
            else:
                self.fields[f"passed_{item.pk}"] = forms.ChoiceField(
                    label=item.name, choices=PASS_FAIL, required=False,
                    initial=("pass" if result.passed else "fail") if result else "",
                )  # fmt: skip
        self.positions: list[Any] = []
        bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for item in self.items:
            if is_numeric(item):
                filled = (
                    data.get(f"measured_{item.pk}") is not None
                    or data.get(f"instrument_{item.pk}") is not None
                )
            else:
                filled = bool(data.get(f"passed_{item.pk}"))
            if filled:
                self.positions.append(item)
        if not self.positions and not self.errors:
            raise forms.ValidationError(_("Record at least one check."))
        return data

    def results(self) -> list[TestInput]:
        data = self.cleaned_data
        return [
            TestInput(
                item=item,
                measured_value=data.get(f"measured_{item.pk}"),
                instrument=data.get(f"instrument_{item.pk}"),
            )
            if is_numeric(item)
            else TestInput(item=item, passed=_answer(data.get(f"passed_{item.pk}", "")))
            for item in self.positions
        ]

    def service_fields(self) -> dict[str, str]:
        names = {}
        for position, item in enumerate(self.positions, start=1):
            names[f"results.{position}.measured_value"] = f"measured_{item.pk}"
            names[f"results.{position}.instrument"] = f"instrument_{item.pk}"
            names[f"results.{position}.passed"] = f"passed_{item.pk}"
        return names


def _plain(value: Any) -> str:
    from medservice.inventory.services import quantity_text

    return quantity_text(value)


class OverrideForm(ActionForm):
    reason = forms.CharField(
        label=gettext_lazy("Why may the work complete despite the failed check?"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- Screening ----------------------------------------------------------------------------------


class ScreenForm(ActionForm):
    is_complaint = forms.ChoiceField(
        label=gettext_lazy("Is this service record a complaint?"), choices=YES_NO
    )
    may_be_reportable = forms.ChoiceField(
        label=gettext_lazy("Could it be a reportable adverse event?"), choices=YES_NO
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("is_complaint", "may_be_reportable"):
            value = getattr(self.work_order, name)
            self.fields[name].initial = "" if value is None else ("yes" if value else "no")
        self.fields["note"].initial = self.work_order.screening_note


# --- Remote support -----------------------------------------------------------------------------


class RemoteSessionForm(ActionForm):
    tool = forms.CharField(label=gettext_lazy("Tool"), max_length=100)
    started_at = forms.DateTimeField(
        label=gettext_lazy("Started at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    duration_minutes = forms.IntegerField(
        label=gettext_lazy("Duration (minutes)"), min_value=1, max_value=24 * 60
    )
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=RemoteOutcome.choices)
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


# --- Workshop -----------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's "Uploading multiple files" recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def loan_units(user: Any, work_order: WorkOrder) -> Any:
    """The company's own units that may go out on loan now."""
    from medservice.customers.choices import OrganizationKind
    from medservice.installed_base.models import Device
    from medservice.installed_base.selectors import devices_visible_to

    candidates = (
        devices_visible_to(user)
        .filter(organization__kind=OrganizationKind.COMPANY)
        .exclude(pk=work_order.device_id)
        .select_related("device_model", "organization")
        .order_by("device_model__name", "serial_number")
    )
    usable = [device.pk for device in candidates if not loan_unit_refusal(device)]
    return Device.objects.filter(pk__in=usable).select_related("device_model")


class ReceiveUnitForm(ActionForm):
    condition = forms.CharField(
        label=gettext_lazy("Condition on receipt"), widget=forms.Textarea(attrs={"rows": 2})
    )
    accessories = forms.CharField(
        label=gettext_lazy("Accessories received"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    photos = MultipleFileField(label=gettext_lazy("Condition photos"), required=False)
    loan_device = forms.ModelChoiceField(
        label=gettext_lazy("Loan unit to the customer"), queryset=None, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["loan_device"].queryset = loan_units(self.user, self.work_order)


class StartForm(ActionForm):
    pass


class ShipBackForm(ActionForm):
    carrier = forms.CharField(label=gettext_lazy("Carrier"), max_length=100)
    tracking = forms.CharField(label=gettext_lazy("Tracking number"), max_length=100)
    loan_back = forms.BooleanField(
        label=gettext_lazy("The loan unit comes back with this shipment"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.work_order.loan_device_id is None or self.work_order.loan_back_at is not None:
            del self.fields["loan_back"]


class SendToSupplierForm(ActionForm):
    expected_on = forms.DateField(
        label=gettext_lazy("Expected back on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(
        label=gettext_lazy("Supplier's reference"), required=False, max_length=100
    )


class ReceiveFromSupplierForm(ActionForm):
    report = forms.CharField(
        label=gettext_lazy("What the supplier's report says"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    report_file = forms.FileField(label=gettext_lazy("The supplier's report"), required=False)


# --- Registration -------------------------------------------------------------------------------

action_form_register("record-diagnosis", ActionSpec(
    DiagnosisForm,
    lambda user, work_order, data: diagnosis_record(
        actor=user, work_order=work_order, symptom=data["symptom"],
        fault_code=data["fault_code"], root_cause=data["root_cause"],
        actions_taken=data["actions_taken"], guidance=data["guidance"],
        document_version=data["document_version"], submission_key=data["submission_key"]),
    phone=True,
))  # fmt: skip
action_form_register("record-parts", ActionSpec(
    PartsForm,
    lambda user, work_order, data: _renamed(data["_form"], lambda: parts_record(
        actor=user, work_order=work_order, fitted=data["_form"].lines("fitted"),
        removed=data["_form"].lines("removed"), submission_key=data["submission_key"])),
    phone=True,
))  # fmt: skip
action_form_register("record-time", ActionSpec(
    TimeForm,
    lambda user, work_order, data: time_record(
        actor=user, work_order=work_order, kind=data["kind"], day=data["day"],
        hours=data["hours"], note=data["note"], submission_key=data["submission_key"]),
    phone=True,
))  # fmt: skip
action_form_register("record-test", ActionSpec(
    TestForm,
    lambda user, work_order, data: _renamed(data["_form"], lambda: test_record(
        actor=user, work_order=work_order, results=data["_form"].results(),
        submission_key=data["submission_key"])),
    phone=True,
))  # fmt: skip
action_form_register("override-test", ActionSpec(
    OverrideForm,
    lambda user, work_order, data: test_override(
        actor=user, work_order=work_order, reason=data["reason"]),
))  # fmt: skip
action_form_register("screen", ActionSpec(
    ScreenForm,
    lambda user, work_order, data: screening_record(
        actor=user, work_order=work_order, is_complaint=_answer(data["is_complaint"]),
        may_be_reportable=_answer(data["may_be_reportable"]), note=data["note"]),
    phone=True,
))  # fmt: skip
action_form_register("record-remote-session", ActionSpec(
    RemoteSessionForm,
    lambda user, work_order, data: remote_session_record(
        actor=user, work_order=work_order, tool=data["tool"], started_at=data["started_at"],
        duration_minutes=data["duration_minutes"], outcome=data["outcome"],
        notes=data["notes"]),
))  # fmt: skip
action_form_register("receive-unit", ActionSpec(
    ReceiveUnitForm,
    lambda user, work_order, data: unit_receive(
        actor=user, work_order=work_order, condition=data["condition"],
        accessories=data["accessories"], photos=data["photos"],
        loan_device=data["loan_device"]),
))  # fmt: skip
action_form_register("start", ActionSpec(
    StartForm,
    lambda user, work_order, data: work_start(actor=user, work_order=work_order),
))  # fmt: skip
action_form_register("ship-back", ActionSpec(
    ShipBackForm,
    lambda user, work_order, data: unit_ship_back(
        actor=user, work_order=work_order, carrier=data["carrier"], tracking=data["tracking"],
        loan_back=data.get("loan_back", False)),
))  # fmt: skip
action_form_register("send-to-supplier", ActionSpec(
    SendToSupplierForm,
    lambda user, work_order, data: supplier_send(
        actor=user, work_order=work_order, expected_on=data["expected_on"],
        reference=data["reference"]),
))  # fmt: skip
action_form_register("receive-from-supplier", ActionSpec(
    ReceiveFromSupplierForm,
    lambda user, work_order, data: supplier_receive(
        actor=user, work_order=work_order, report=data["report"],
        report_file=data["report_file"]),
))  # fmt: skip


# --- What was done: the record-page panel and the phone page's checklist ----------------------


def test_rows(work_order: WorkOrder) -> list[dict[str, Any]]:
    """Each check of the model's test with its result (or none yet), for the pages."""
    state = acceptance_test_state(work_order)
    results = {result.item_id: result for result in state.results}
    items = [*[result.item for result in state.results], *state.missing]
    items.sort(key=lambda item: (item.position, item.pk))
    return [
        {
            "item": item,
            "numeric": is_numeric(item),
            "expected": _plain(item.expected_value) if is_numeric(item) else "",
            "tolerance": _plain(item.tolerance or 0) if is_numeric(item) else "",
            "result": results.get(item.pk),
            "measured": _plain(results[item.pk].measured_value)
            if item.pk in results and results[item.pk].measured_value is not None
            else "",
        }
        for item in items
    ]


test_rows.__test__ = False  # type: ignore[attr-defined]


def onsite_panel_context(request: HttpRequest, work_order: WorkOrder) -> dict[str, Any]:
    from medservice.inventory.services import quantity_text

    usages = list(
        work_order.part_usages.select_related("part", "lot").order_by("recorded_at", "pk")
    )
    entries = list(work_order.time_entries.select_related("engineer").order_by("day", "pk"))
    return {
        "work_order": work_order,
        "part_usages": [
            {"usage": usage, "quantity": quantity_text(usage.quantity)} for usage in usages
        ],
        "time_entries": entries,
        "hours_total": sum((entry.hours for entry in entries), Decimal(0)),
        "test_rows": test_rows(work_order),
        "remote_sessions": list(work_order.remote_sessions.select_related("engineer")),
        "condition_photos": list(work_order.files.filter(kind=FileKind.CONDITION_PHOTO)),
        "supplier_files": list(work_order.files.filter(kind=FileKind.SUPPLIER_REPORT)),
    }


def onsite_section_context(request: HttpRequest, work_order: WorkOrder) -> dict[str, Any]:
    return {
        "work_order": work_order,
        "test_rows": test_rows(work_order),
        "parts_count": work_order.part_usages.count(),
    }


panel_register(
    Panel(
        name="onsite",
        template="work_orders/_onsite_panel.html",
        context=onsite_panel_context,
        order=30,
    )
)
visit_section_register(
    VisitSection(
        name="onsite",
        template="work_orders/_onsite_section.html",
        context=onsite_section_context,
        order=30,
    )
)
