"""Forms of the analytics app: the KPI filter (shared by the pages and the API) and targets."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.analytics.kpis import KPIS, KpiFilter
from medservice.analytics.models import KpiTarget
from medservice.core.forms import ResourceForm
from medservice.core.widgets import AutocompleteSelect
from medservice.customers.forms import organization_autocomplete
from medservice.customers.selectors import organizations_visible_to, user_scope

# A filter over more than this is refused: the figures read whole periods of records.
LONGEST_PERIOD_DAYS = 3 * 366
# Periods are compared with a previous one and bounded by local midnights: far dates would
# overflow, and no service record is that old or that far ahead.
EARLIEST_DAY = datetime.date(2000, 1, 1)
LATEST_DAY = datetime.date(2099, 12, 31)


def internal_staff() -> Any:
    from medservice.accounts.models import User

    return User.objects.filter(organization__kind="company", is_active=True).order_by("username")


class KpiFilterForm(forms.Form):
    """Period, region, organisation, model, engineer and team: the same query parameters on
    the KPI page, the dashboards and `GET /api/v1/kpis/`. Engineer and team are offered to
    internal users only; an organisation outside the user's scope is refused by name."""

    def __init__(self, data: Any = None, *, user: Any) -> None:
        super().__init__(data)
        from medservice.catalog.models import DeviceModel
        from medservice.tickets.models import Team

        self.user = user
        today = timezone.localdate()
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
            initial=today.replace(day=1),
        )  # fmt: skip
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
            initial=today,
        )  # fmt: skip
        self.fields["region"] = forms.CharField(label=_("Region"), required=False, max_length=100)
        # A company serves thousands of organisations: a select listing them all took half a
        # second to draw on every KPI page; the browser searches them instead.
        self.fields["organization"] = forms.ModelChoiceField(
            label=_("Organisation"), required=False,
            queryset=organizations_visible_to(user).order_by("name"),
            widget=organization_autocomplete(),
            error_messages={"invalid_choice": _("No such organisation in your scope.")},
        )  # fmt: skip
        self.fields["device_model"] = forms.ModelChoiceField(
            label=_("Device model"), required=False,
            queryset=DeviceModel.objects.order_by("name"),
            error_messages={"invalid_choice": _("No such device model.")},
        )  # fmt: skip
        if user_scope(user) == "internal":
            self.fields["engineer"] = forms.ModelChoiceField(
                label=_("Engineer"), required=False, queryset=internal_staff(),
                error_messages={"invalid_choice": _("No such engineer.")},
            )  # fmt: skip
            self.fields["team"] = forms.ModelChoiceField(
                label=_("Team"), required=False, queryset=Team.objects.order_by("name"),
                error_messages={"invalid_choice": _("No such team.")},
            )  # fmt: skip
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", f"{css} form-control-sm")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        today = timezone.localdate()
        start = data.get("from") or today.replace(day=1)
        end = data.get("to") or today
        for name, value in (self.data or {}).items():
            if "\x00" in str(value):
                # PostgreSQL cannot compare text holding a NUL character.
                self.add_error(None, _("The parameter %(name)s holds a character that is not "
                                      "allowed.") % {"name": name})  # fmt: skip
        if "from" in self.errors or "to" in self.errors:
            return data
        if start < EARLIEST_DAY or end > LATEST_DAY:
            self.add_error("to" if end > LATEST_DAY else "from",
                           _("Choose dates between 2000 and 2099."))  # fmt: skip
        elif end < start:
            self.add_error("to", _("The end of the period is before its start."))
        elif (end - start).days >= LONGEST_PERIOD_DAYS:
            self.add_error("to", _("Choose a period of at most three years."))
        data["from"], data["to"] = start, end
        return data

    def kpi_filter(self, *, as_of: datetime.datetime | None = None) -> KpiFilter:
        """The filter the valid form describes (call after is_valid())."""
        data = self.cleaned_data
        extra = {
            key: str(value) for key, value in (self.data or {}).items()
            if key not in self.fields and key not in {"page", "format", "code", "fresh"} and value
            and not _search_box_of_a_field(key, self.fields)
        }  # fmt: skip
        return KpiFilter(
            user=self.user, start=data["from"], end=data["to"], as_of=as_of,
            region=data.get("region") or "",
            organization_id=data["organization"].pk if data.get("organization") else None,
            device_model_id=data["device_model"].pk if data.get("device_model") else None,
            engineer_id=data["engineer"].pk if data.get("engineer") else None,
            team_id=data["team"].pk if data.get("team") else None,
            extra=extra,
        )  # fmt: skip


def _search_box_of_a_field(key: str, fields: Any) -> bool:
    """`organization_search`: the text an autocomplete submits without its script."""
    return key.endswith(AutocompleteSelect.search_suffix) and (
        key.removesuffix(AutocompleteSelect.search_suffix) in fields
    )


def kpi_choices() -> list[tuple[str, Any]]:
    return [(code, definition.name) for code, definition in sorted(KPIS.items())]


class KpiTargetForm(ResourceForm):
    kpi = forms.ChoiceField(label=_("KPI"), choices=kpi_choices)

    class Meta:
        model = KpiTarget
        fields = ["kpi", "organization", "device_model", "region", "team", "value", "direction",
                  "amber_band", "valid_from", "active", "proposed", "note"]  # fmt: skip
        widgets = {"valid_from": forms.DateInput(attrs={"type": "date"})}

    def clean_amber_band(self) -> Decimal:
        band = self.cleaned_data["amber_band"]
        if band is not None and band < 0:
            raise forms.ValidationError(_("The amber band cannot be negative."))
        return band


class KpiTargetFilter(django_filters.FilterSet):
    class Meta:
        model = KpiTarget
        fields = ["kpi", "active", "organization", "device_model", "team"]
