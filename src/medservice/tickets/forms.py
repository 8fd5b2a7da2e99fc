"""Ticket forms: the intake form and one small input form per workflow action. The UI renders
them and the API validates request bodies with the same classes; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from medservice.core.forms import ResourceForm
from medservice.customers.forms import organization_autocomplete
from medservice.customers.selectors import contacts_visible_to, organizations_visible_to
from medservice.installed_base.selectors import devices_visible_to
from medservice.tickets.choices import (
    ConfirmationMethod,
    Priority,
    ResolutionType,
    SlaTarget,
    WaitReason,
)
from medservice.tickets.models import QualityIntake, Team, Ticket


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _internal_users() -> Any:
    from medservice.accounts.models import User

    return User.objects.filter(is_active=True, organization__kind__in=["company", "distributor"])


class TicketForm(ResourceForm):
    """Register a request (an agent during a call, a letter, a walk-in, a distributor)."""

    class Meta:
        model = Ticket
        fields = [
            "kind",
            "channel",
            "priority",
            "received_at",
            "organization",
            "contact",
            "reporter_name",
            "reporter_phone",
            "reporter_email",
            "device",
            "product_reported",
            "serial_reported",
            "subject",
            "description",
            "patient_involved",
            "injury",
        ]
        widgets = {
            "received_at": DateTimeInput(),
            "organization": organization_autocomplete(),
            "reporter_name": forms.TextInput(),
            "reporter_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["contact"].queryset = contacts_visible_to(self.user).select_related(
            "organization"
        )
        self.fields["device"].queryset = devices_visible_to(self.user).select_related(
            "device_model"
        )
        # The contact and device choices are filled by the caller look-up as the agent types
        # (a hospital has hundreds of units): render only the chosen ones.
        for name in ("contact", "device"):
            self.fields[name].widget = forms.HiddenInput()
        self.fields["received_at"].required = False
        self.fields["received_at"].help_text = _("Leave empty for now; for a letter, its date.")
        self.fields["subject"].required = False

    def _post_clean(self) -> None:
        # The service checks the record (reporter reachable, device of the customer, numbers).
        pass


class QualityIntakeForm(ResourceForm):
    """The quality-complaint questions (SOP 4.2), asked during the same call."""

    prefix = "quality"

    class Meta:
        model = QualityIntake
        fields = [
            "complainant_sex",
            "complainant_age",
            "complainant_address",
            "complainant_workplace",
            "device_used",
            "symptoms",
            "manufacturer_reported",
            "batch_or_serial",
            "purchased_from",
            "purchased_on",
            "stop_use_advised",
        ]
        widgets = {
            "complainant_address": forms.TextInput(),
            "complainant_workplace": forms.TextInput(),
            "symptoms": forms.Textarea(attrs={"rows": 2}),
            "purchased_on": forms.DateInput(attrs={"type": "date"}),
            "device_used": forms.NullBooleanSelect(),
        }

    def _post_clean(self) -> None:
        pass


class ActionForm(forms.Form):
    """An action's inputs, with Bootstrap classes."""

    def __init__(self, *args: Any, user: Any = None, ticket: Ticket | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.user, self.ticket = user, ticket
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


def _text(label: Any, *, required: bool = True, rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, widget=forms.Textarea(attrs={"rows": rows})
    )


class AcknowledgeInput(ActionForm):
    note = _text(_("What the customer was told"))


class NoteInput(ActionForm):
    note = _text(_("Note"), required=False)


class AssignInput(ActionForm):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    reason = forms.CharField(label=_("Reason (when reassigning)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _internal_users().order_by("username")
        self.fields["team"].queryset = Team.objects.filter(active=True)


class ProposeSolutionInput(ActionForm):
    solution = _text(_("Solution proposed to the customer"))


class AgreeSolutionInput(ActionForm):
    agreed_by = forms.CharField(label=_("Agreed by (customer's name)"), required=False)
    method = forms.ChoiceField(
        label=_("How"),
        required=False,
        choices=[("", "—"), *[(c.value, c.label) for c in ConfirmationMethod if c != "automatic"]],
    )
    note = _text(_("Note"), required=False, rows=2)


class WaitInput(ActionForm):
    reason = forms.ChoiceField(label=_("Waiting for"), choices=WaitReason.choices)
    note = _text(_("What exactly"), rows=2)


class ReasonInput(ActionForm):
    reason = _text(_("Reason"), rows=2)


class ArrivalInput(ActionForm):
    arrived_at = forms.DateTimeField(label=_("Arrived at"), required=False, widget=DateTimeInput())


class ResolveInput(ActionForm):
    resolution_type = forms.ChoiceField(label=_("Resolution type"), choices=ResolutionType.choices)
    resolution = _text(_("What was done"))


class ConfirmInput(ActionForm):
    confirmed_by_name = forms.CharField(label=_("Confirmed by (customer's name)"), required=False)
    method = forms.ChoiceField(
        label=_("How"),
        required=False,
        choices=[
            ("", "—"),
            *[
                (c.value, c.label)
                for c in (
                    ConfirmationMethod.PHONE,
                    ConfirmationMethod.PAPER,
                    ConfirmationMethod.EMAIL,
                )
            ],
        ],
    )
    confirmed_at = forms.DateTimeField(
        label=_("Confirmed at"), required=False, widget=DateTimeInput()
    )
    rating = forms.IntegerField(label=_("Rating (1–5)"), required=False, min_value=1, max_value=5)
    comment = _text(_("Comment"), required=False, rows=2)


class RateInput(ActionForm):
    rating = forms.IntegerField(label=_("Rating (1–5)"), min_value=1, max_value=5)
    comment = _text(_("Comment"), required=False, rows=2)


class ScreenInput(ActionForm):
    is_complaint = forms.TypedChoiceField(
        label=_("Is it a complaint?"),
        choices=[("true", _("Yes")), ("false", _("No"))],
        coerce=lambda value: value in (True, "true", "True", "1"),
    )
    may_be_reportable = forms.TypedChoiceField(
        label=_("May it be reportable (adverse event)?"),
        choices=[("true", _("Yes")), ("false", _("No"))],
        coerce=lambda value: value in (True, "true", "True", "1"),
    )
    needs_investigation = forms.TypedChoiceField(
        label=_("Does it need investigation?"),
        choices=[("true", _("Yes")), ("false", _("No"))],
        coerce=lambda value: value in (True, "true", "True", "1"),
    )
    no_investigation_reason = _text(
        _("If not, why (or the earlier similar investigation)"), required=False, rows=2
    )


class CommentInput(ActionForm):
    text = _text(_("Note"), required=False)
    customer_visible = forms.BooleanField(label=_("Visible to the customer"), required=False)
    file = forms.FileField(label=_("File"), required=False)


class PriorityInput(ActionForm):
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    reason = forms.CharField(label=_("Reason"))


class SlaExceptionInput(ActionForm):
    target = forms.ChoiceField(label=_("Target"), choices=SlaTarget.choices)
    hours = forms.DecimalField(
        label=_("Extra hours"), min_value=0.5, max_digits=7, decimal_places=2
    )
    reason = _text(_("Reason"), rows=2)


class RegulatorFeedbackInput(ActionForm):
    content = _text(_("Feedback given"))
    given_at = forms.DateTimeField(label=_("Given at"), required=False, widget=DateTimeInput())
    regulator_contact = forms.CharField(label=_("Regulator contact"), required=False)


# Each workflow action: its input form and how its cleaned data becomes the service's keywords.
ACTION_INPUTS: dict[str, type[ActionForm]] = {
    "acknowledge": AcknowledgeInput,
    "investigate": NoteInput,
    "assign": AssignInput,
    "propose-solution": ProposeSolutionInput,
    "agree-solution": AgreeSolutionInput,
    "start": NoteInput,
    "wait": WaitInput,
    "resume": NoteInput,
    "escalate-onsite": ReasonInput,
    "record-arrival": ArrivalInput,
    "resolve": ResolveInput,
    "confirm": ConfirmInput,
    "reject-resolution": ReasonInput,
    "reopen": ReasonInput,
    "cancel": ReasonInput,
    "screen": ScreenInput,
    "rate": RateInput,
}
