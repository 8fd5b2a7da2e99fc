"""Filters of the SLA policy pages: a policy's criteria in words and its four targets."""

from __future__ import annotations

from typing import Any

from django import template

from medservice.tickets.models import SlaPolicy

register = template.Library()


@register.filter
def policy_criteria(policy: SlaPolicy) -> str:
    from medservice.tickets.policies import policy_criteria as criteria

    return criteria(policy)


@register.filter
def policy_targets(policy: SlaPolicy) -> list[dict[str, Any]]:
    from medservice.tickets.policies import policy_target_rows

    return policy_target_rows(policy)
