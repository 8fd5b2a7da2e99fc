"""Service-promise policies (服务承诺策略) as configuration: the administrator's pages and the
API `sla-policies`, with their services. A policy's criteria (organisation, device model, risk
class, SLA tier, priority) choose which requests it applies to (tickets/sla.py: the most
specific active policy wins); each of its four targets sets hours, counting (calendar or
business hours on the policy's business calendar) and the states that pause it. A target left
out keeps the default promise.

Company-wide configuration, so not scoped by organisation: every role that may view policies
sees all of them; only administrators add, change and delete them (accounts/roles.py).
Changing a policy never moves running clocks: due times are promises made at receipt.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.apps import apps
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from rest_framework import serializers

from medservice.catalog.choices import RiskClass
from medservice.catalog.selectors import device_models_visible_to
from medservice.core.api.viewsets import resource_viewset
from medservice.core.context import audit_context
from medservice.core.errors import ConflictError, InvalidInputError
from medservice.core.forms import ResourceForm
from medservice.core.navigation import NavItem
from medservice.core.registry import Resource, register
from medservice.core.selectors import business_calendars_visible_to
from medservice.core.services import record_create, record_delete, record_update
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.customers.forms import organization_autocomplete
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.choices import SlaTier
from medservice.tickets.choices import Counting, SlaTarget, Status
from medservice.tickets.models import SlaPolicy, SlaPolicyTarget, TicketClock
from medservice.tickets.sla import DEFAULT_POLICY_NAME

TARGETS = (SlaTarget.FIRST_RESPONSE, SlaTarget.PLAN, SlaTarget.RESOLUTION, SlaTarget.ONSITE)
CRITERIA = ("organization", "device_model", "risk_class", "sla_tier", "priority")
POLICY_FIELDS = ("name", "active", *CRITERIA, "calendar")
MAX_HOURS = Decimal(8760)  # a year
# States in which a clock may stand still: waiting for someone else than the service team.
PAUSE_STATES = (Status.SOLUTION_PROPOSED, Status.WAITING_CUSTOMER, Status.WAITING_PARTS)
PAUSE_STATE_CHOICES = [(state.value, state.label) for state in PAUSE_STATES]


# --- reads ----------------------------------------------------------------------------------------


def sla_policies_visible_to(user: Any) -> QuerySet[SlaPolicy]:
    """Policies are company-wide configuration: a signed-in user whose role may view them sees
    all of them; a user who belongs to no organisation sees none."""
    if (
        not getattr(user, "is_authenticated", False)
        or not user.is_active
        or (not user.is_superuser and getattr(user, "organization_id", None) is None)
        or not user.has_perm("tickets.view_slapolicy")
    ):
        return SlaPolicy.objects.none()
    return SlaPolicy.objects.all()


def _is_default(policy: SlaPolicy | None) -> bool:
    return policy is not None and policy.pk is not None and policy.name == DEFAULT_POLICY_NAME


def _targets_of(policy: SlaPolicy) -> dict[str, SlaPolicyTarget]:
    return {row.target: row for row in policy.targets.all()}


def policy_criteria(policy: SlaPolicy) -> str:
    """The criteria in words ("organisation: …; priority: Urgent"), or "every request"."""
    parts = []
    if policy.organization_id:
        parts.append(_("organisation: %(value)s") % {"value": policy.organization})
    if policy.device_model_id:
        parts.append(_("device model: %(value)s") % {"value": policy.device_model})
    if policy.risk_class:
        parts.append(
            _("risk class: %(value)s") % {"value": _choice_label(RiskClass, policy.risk_class)}
        )
    if policy.sla_tier:
        parts.append(_("SLA tier: %(value)s") % {"value": _choice_label(SlaTier, policy.sla_tier)})
    if policy.priority:
        parts.append(_("priority: %(value)s") % {"value": policy.get_priority_display()})
    return "; ".join(parts) if parts else _("every request")


def _choice_label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def policy_target_rows(policy: SlaPolicy) -> list[dict[str, Any]]:
    """The four targets in order, each with its hours, counting and pause states, or marked as
    keeping the default promise."""
    rows = _targets_of(policy)
    result = []
    for target in TARGETS:
        row = rows.get(target)
        result.append(
            {
                "target": target.label,
                "set": row is not None,
                "hours": row.hours.normalize() if row is not None else None,
                "counting": row.get_counting_display() if row is not None else "",
                "pause_states": ", ".join(
                    _choice_label(Status, state) for state in (row.pause_states if row else [])
                ),
            }
        )
    return result


# --- validation and services ------------------------------------------------------------------------


def _target_specs(targets: Any) -> dict[str, dict[str, Any]]:
    """Targets given as a list of {target, hours, counting, pause_states} -> by target."""
    specs: dict[str, dict[str, Any]] = {}
    for item in targets or []:
        specs[str(item["target"])] = {
            "hours": item.get("hours"),
            "counting": item.get("counting") or Counting.CALENDAR,
            "pause_states": list(item.get("pause_states") or []),
        }
    return specs


def _existing_specs(policy: SlaPolicy) -> dict[str, dict[str, Any]]:
    return {
        target: {"hours": row.hours, "counting": row.counting, "pause_states": row.pause_states}
        for target, row in _targets_of(policy).items()
    }


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value) or None


def sla_policy_problems(
    values: dict[str, Any], targets: dict[str, dict[str, Any]], *, instance: SlaPolicy | None
) -> dict[str, list[str]]:
    """What is wrong with a policy as it would be saved (its fields and all its targets), by
    field: target problems under "targets.<target>.<field>". Empty when it may be saved."""
    problems: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    default = _is_default(instance)
    for target, spec in targets.items():
        if target not in SlaTarget.values:
            add("targets", _("“%(target)s” is not a target.") % {"target": target})
            continue
        label = SlaTarget(target).label
        hours = spec.get("hours")
        if hours is None:
            add(
                f"targets.{target}.hours",
                _("%(target)s: enter the hours, or leave the whole target empty.")
                % {"target": label},
            )
        elif not (Decimal(0) < Decimal(hours) <= MAX_HOURS):
            add(
                f"targets.{target}.hours",
                _("%(target)s: the hours must be more than 0 and at most 8760 (a year).")
                % {"target": label},
            )
        if spec.get("counting") not in Counting.values:
            add(
                f"targets.{target}.counting",
                _("%(target)s: counting is calendar or business hours.") % {"target": label},
            )
        refused = [state for state in spec.get("pause_states", []) if state not in PAUSE_STATES]
        if refused:
            add(
                f"targets.{target}.pause_states",
                _("%(target)s: these states cannot pause a clock: %(states)s.")
                % {"target": label, "states": ", ".join(refused)},
            )
    business = [
        SlaTarget(target).label
        for target, spec in targets.items()
        if target in SlaTarget.values and spec.get("counting") == Counting.BUSINESS
    ]
    if business and not values.get("calendar"):
        add(
            "calendar",
            _("Business calendar: choose one; %(targets)s counted in business hours.")
            % {"targets": ", ".join(str(label) for label in business)},
        )
    if default:
        if values.get("name") != DEFAULT_POLICY_NAME:
            add("name", _("Name: the default policy keeps its name."))
        if not values.get("active"):
            add(
                "active",
                _("Active: the default policy stays active; it applies when no other does."),
            )
        for name in CRITERIA:
            if values.get(name):
                add(
                    name,
                    _(
                        "The default policy applies to every request: leave its organisation, "
                        "device model, risk class, SLA tier and priority empty."
                    ),
                )
        for target in TARGETS:
            if target not in targets:
                add(
                    f"targets.{target}.hours",
                    _(
                        "%(target)s: the default policy sets every target; other policies "
                        "fall back to it."
                    )
                    % {"target": target.label},
                )
    if values.get("active") and not default:
        same = SlaPolicy.objects.filter(
            active=True,
            organization=_pk(values.get("organization")),
            device_model=_pk(values.get("device_model")),
            risk_class=values.get("risk_class") or "",
            sla_tier=values.get("sla_tier") or "",
            priority=values.get("priority") or "",
        )
        if instance is not None and instance.pk:
            same = same.exclude(pk=instance.pk)
        other = same.order_by("pk").first()
        if other is not None:
            add(
                "non_field_errors",
                _(
                    "The active policy “%(other)s” has exactly the same criteria (organisation, "
                    "device model, risk class, SLA tier, priority): which one applies would be "
                    "arbitrary. Change a criterion, or deactivate one of them."
                )
                % {"other": other},
            )
    return problems


def _refuse(problems: dict[str, list[str]]) -> None:
    if problems:
        first = next(iter(problems.values()))[0]
        raise InvalidInputError(
            _("The SLA policy was not saved: %(problem)s") % {"problem": first}, fields=problems
        )


def _targets_write(policy: SlaPolicy, targets: dict[str, dict[str, Any]]) -> None:
    """Make the policy's target rows exactly `targets` (a target left out keeps the default)."""
    existing = _targets_of(policy)
    for target in TARGETS:
        row, spec = existing.get(target), targets.get(target)
        if spec is None:
            if row is not None:
                row.delete()
            continue
        if row is None:
            row = SlaPolicyTarget(policy=policy, target=target)
        elif (
            row.hours == Decimal(spec["hours"])
            and row.counting == spec["counting"]
            and list(row.pause_states) == list(spec["pause_states"])
        ):
            continue
        row.hours = Decimal(spec["hours"])
        row.counting = spec["counting"]
        row.pause_states = list(spec["pause_states"])
        row.full_clean()
        row.save()


def sla_policy_create(
    *, actor: Any, model: type[SlaPolicy] = SlaPolicy, data: dict[str, Any]
) -> SlaPolicy:
    """A new policy and its targets; it applies to requests registered from now on."""
    data = dict(data)
    targets = _target_specs(data.pop("targets", None))
    values = {"active": True, **data}
    with transaction.atomic(), audit_context(actor=actor):
        _refuse(sla_policy_problems(values, targets, instance=None))
        policy = record_create(actor=actor, model=SlaPolicy, data=data)
        _targets_write(policy, targets)
    return policy


def sla_policy_update(
    *,
    actor: Any,
    instance: SlaPolicy,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> SlaPolicy:
    """Change a policy and, when `targets` is given, replace its targets. Running clocks keep
    the promise made at receipt; requests registered afterwards get the new one."""
    data = dict(data)
    given = "targets" in data
    new_targets = _target_specs(data.pop("targets", None))
    with transaction.atomic(), audit_context(actor=actor):
        current = SlaPolicy.objects.select_for_update().get(pk=instance.pk)
        values = {name: getattr(current, name) for name in POLICY_FIELDS} | data
        targets = new_targets if given else _existing_specs(current)
        _refuse(sla_policy_problems(values, targets, instance=current))
        policy = record_update(
            actor=actor, instance=current, data=data, expected_version=expected_version
        )
        if given:
            _targets_write(policy, targets)
    return policy


def sla_policy_delete(*, actor: Any, instance: SlaPolicy, reason: str = "") -> None:
    """Delete a policy never used by a clock (with its targets); the default policy and a
    policy already applied stay (deactivate the latter instead)."""
    if _is_default(instance):
        raise ConflictError(
            _("The default policy cannot be deleted: it applies when no other policy does.")
        )
    used = TicketClock.objects.filter(policy=instance).count()
    if used:
        raise ConflictError(
            _(
                "%(record)s has been applied to %(count)s clocks of service requests, whose "
                "reports name it: deactivate it instead."
            )
            % {"record": instance, "count": used}
        )
    with transaction.atomic():
        record_delete(actor=actor, instance=instance, reason=reason)


# --- form -----------------------------------------------------------------------------------------


class TickBoxes(forms.CheckboxSelectMultiple):
    """Ticks in a row with Bootstrap's check style on the boxes."""

    def __init__(self) -> None:
        super().__init__(attrs={"class": "d-flex flex-wrap gap-3"})

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["attrs"] = {**option["attrs"], "class": "form-check-input me-1"}
        return option


def _blank(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", "---------"), *choices]


class SlaPolicyForm(ResourceForm):
    risk_class = forms.ChoiceField(
        label=_l("risk class"), choices=_blank(RiskClass.choices), required=False
    )
    sla_tier = forms.ChoiceField(
        label=_l("SLA tier"), choices=_blank(SlaTier.choices), required=False
    )

    class Meta:
        model = SlaPolicy
        fields = ["name", "active", *CRITERIA, "calendar"]
        widgets = {"organization": organization_autocomplete()}
        help_texts = {
            "active": _l(
                "Changing or deactivating a policy does not move the due times of requests "
                "already registered: they are promises made at receipt. The policy applies to "
                "requests registered afterwards (and to a request whose priority changes or "
                "that gets an approved exception)."
            ),
            "calendar": _l("Required when a target counts business hours."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["device_model"].queryset = device_models_visible_to(self.user)
        self.fields["calendar"].queryset = business_calendars_visible_to(self.user)
        if _is_default(self.instance):
            # The default promise applies to every request, under its own name.
            for name in ("name", "active", *CRITERIA):
                self.fields[name].disabled = True
        existing = _targets_of(self.instance) if self.instance.pk else {}
        for target in TARGETS:
            label = target.label
            row = existing.get(target)
            self.fields[f"{target}_hours"] = forms.DecimalField(
                label=_("%(target)s: hours") % {"target": label},
                required=False,
                max_digits=7,
                decimal_places=2,
                initial=row.hours.normalize() if row else None,
                help_text=_("Leave empty to keep the default promise for this target."),
                widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.5"}),
            )
            self.fields[f"{target}_counting"] = forms.ChoiceField(
                label=_("%(target)s: counting") % {"target": label},
                choices=Counting.choices,
                initial=row.counting if row else Counting.CALENDAR,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.fields[f"{target}_pause_states"] = forms.MultipleChoiceField(
                label=_("%(target)s: paused in states") % {"target": label},
                choices=PAUSE_STATE_CHOICES,
                required=False,
                initial=list(row.pause_states) if row else [],
                help_text=_("While a request is in one of these states, this clock stands still."),
                widget=TickBoxes(),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        targets = []
        for target in TARGETS:
            hours = cleaned.pop(f"{target}_hours", None)
            counting = cleaned.pop(f"{target}_counting", None) or Counting.CALENDAR
            pause_states = cleaned.pop(f"{target}_pause_states", None) or []
            if hours is None and not pause_states and f"{target}_hours" not in self.errors:
                continue  # the default promise applies
            targets.append(
                {
                    "target": target.value,
                    "hours": hours,
                    "counting": counting,
                    "pause_states": pause_states,
                }
            )
        cleaned["targets"] = targets
        values = {name: cleaned.get(name) for name in POLICY_FIELDS}
        specs = {spec["target"]: spec for spec in targets}
        for key, messages in sla_policy_problems(
            values, specs, instance=self.instance if self.instance.pk else None
        ).items():
            field = key.removeprefix("targets.").replace(".", "_")
            for message in messages:
                if field in self.fields and field not in self.errors:
                    self.add_error(field, message)
                elif field not in self.fields:
                    self.add_error(None, message)
        return cleaned


# --- API --------------------------------------------------------------------------------------------


class SlaPolicyTargetSerializer(serializers.Serializer):
    target = serializers.ChoiceField(choices=SlaTarget.choices)
    hours = serializers.DecimalField(max_digits=7, decimal_places=2)
    counting = serializers.ChoiceField(choices=Counting.choices, default=Counting.CALENDAR)
    pause_states = serializers.ListField(
        child=serializers.ChoiceField(choices=PAUSE_STATE_CHOICES), required=False, default=list
    )


class SlaPolicySerializer(serializers.ModelSerializer):
    """A policy with its targets; a target left out keeps the default promise. Writing
    `targets` replaces them all; leaving `targets` out of a PATCH keeps them."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Send the version you read: an update is refused (409) if it changed since.",
    )
    risk_class = serializers.ChoiceField(
        choices=RiskClass.choices, allow_blank=True, required=False
    )
    sla_tier = serializers.ChoiceField(choices=SlaTier.choices, allow_blank=True, required=False)
    targets = SlaPolicyTargetSerializer(many=True, required=False)

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
            "name",
            "active",
            *CRITERIA,
            "calendar",
            "targets",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["organization"].queryset = organizations_visible_to(request.user)
            self.fields["device_model"].queryset = device_models_visible_to(request.user)
            self.fields["calendar"].queryset = business_calendars_visible_to(request.user)

    def validate_targets(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [item["target"] for item in value]
        if len(set(names)) != len(names):
            raise serializers.ValidationError(_("Name each target once."))
        return value

    def to_representation(self, instance: SlaPolicy) -> dict[str, Any]:
        data = super().to_representation(instance)
        order = {target.value: index for index, target in enumerate(TARGETS)}
        data["targets"] = sorted(data["targets"], key=lambda item: order[item["target"]])
        return data


# --- pages and registration -------------------------------------------------------------------------


class SlaPolicyDetailView(ResourceDetailView):
    extra_template = "tickets/sla_policy_extra.html"

    def extra_context_for(self, obj: SlaPolicy) -> dict[str, Any]:
        return {
            "policy_criteria": policy_criteria(obj),
            "policy_targets": policy_target_rows(obj),
            "policy_is_default": _is_default(obj),
        }


sla_policies = register(
    Resource(
        name="sla-policies",
        model=SlaPolicy,
        selector=sla_policies_visible_to,
        namespace="tickets",
        list_columns=["name", "active", *CRITERIA, "calendar"],
        detail_fields=["name", "active", *CRITERIA, "calendar", "created_at", "updated_at"],
        export_fields=["id", "name", "active", *CRITERIA, "calendar__code"],
        form_class=SlaPolicyForm,
        serializer_class=SlaPolicySerializer,
        search_fields=["name"],
        ordering_fields=["name", "active"],
        default_ordering=["name", "pk"],
        select_related=["organization", "device_model", "calendar"],
        prefetch_related=[Prefetch("targets", queryset=SlaPolicyTarget.objects.order_by("pk"))],
        create=sla_policy_create,
        update=sla_policy_update,
        delete=sla_policy_delete,
        api_basename="sla-policy",
        organization_scoped=False,
        detail_view=SlaPolicyDetailView,
        # The list shows each policy's criteria and its four targets (hours and counting).
        list_rows_template="tickets/sla_policy_list_rows.html",
    )
)

# Included by tickets/urls.py; the viewset is registered by tickets/api/urls.py.
urlpatterns = resource_urlpatterns(sla_policies)
SlaPolicyViewSet = resource_viewset(sla_policies)

# Administrators reach the policies from the main navigation, beside the business calendars.
_tickets_config = apps.get_app_config("tickets")
_tickets_config.navigation = (
    *_tickets_config.navigation,
    NavItem(
        _l("SLA policies"),
        "tickets:sla-policies-list",
        permission="tickets.change_slapolicy",
        order=91,
    ),
)
