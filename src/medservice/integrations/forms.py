"""Forms of the webhook pages: shape only; the services decide (https, events, SSRF)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from medservice.customers.choices import OrganizationKind
from medservice.customers.models import Organization
from medservice.integrations.choices import SUBSCRIBABLE_EVENTS, DeliveryState, EventType
from medservice.integrations.models import WebhookSubscription


class _Bootstrap:
    def style(self: Any) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class SubscriptionForm(_Bootstrap, forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    organization = forms.ModelChoiceField(
        label=_("organisation"),
        queryset=Organization.objects.order_by("name"),
        required=False,
        help_text=_(
            "Empty: the company's own integration, which receives every event. Otherwise only "
            "the events of that organisation's records (adverse events and recalls never)."
        ),
    )
    owner = forms.ModelChoiceField(
        label=_("owner"),
        queryset=get_user_model().objects.none(),
        help_text=_("Told when the subscription is disabled after repeated failures."),
    )
    target_url = forms.CharField(label=_("target URL"), max_length=500)
    event_types = forms.MultipleChoiceField(
        label=_("events"),
        choices=[(choice.value, choice.label) for choice in SUBSCRIBABLE_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
    secret = forms.CharField(
        label=_("signing secret"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to generate one (new) or to keep the current one (edit)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the company's own people own an integration (they are told when it fails).
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, organization__kind=OrganizationKind.COMPANY)
            .order_by("username")
        )
        self.style()

    @classmethod
    def initial_for(cls, subscription: WebhookSubscription) -> dict[str, Any]:
        return {
            "name": subscription.name,
            "organization": subscription.organization_id,
            "owner": subscription.owner_id,
            "target_url": subscription.target_url,
            "event_types": subscription.event_types,
        }


class DeliveryFilterForm(_Bootstrap, forms.Form):
    subscription = forms.ModelChoiceField(
        label=_("subscription"), queryset=WebhookSubscription.objects.none(), required=False
    )
    event_type = forms.ChoiceField(
        label=_("event"), choices=[("", "—"), *EventType.choices], required=False
    )
    state = forms.ChoiceField(
        label=_("state"), choices=[("", "—"), *DeliveryState.choices], required=False
    )
    created_from = forms.DateField(
        label=_("from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, subscriptions: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if subscriptions is not None:
            self.fields["subscription"].queryset = subscriptions
        self.style()
