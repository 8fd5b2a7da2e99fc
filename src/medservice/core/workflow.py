"""Workflows as data: each app declares one table of named transitions (sources, target,
permission, inputs, label) and every state change goes through `transition`, which locks the
record, checks the state and the permission, and records the change under the action's name.

The UI shows the actions allowed now (`actions_allowed`) from the same table the API and the
services obey, so a button is never offered for an action that would be refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidTransitionError, PermissionDeniedError

RecordT = TypeVar("RecordT", bound=models.Model)


@dataclass(frozen=True)
class Transition:
    """One named action: from which states, to which state, by whom, asking what."""

    sources: frozenset[str]
    target: str | None  # None: the action keeps the state (assign, screen) or computes it
    permission: str
    label: Any
    inputs: type | None = None
    # Who, beyond the permission, may take it (the requester never approves their own
    # request): returns a refusal or "". Refused with `person_error` (403).
    person_rule: Callable[[Any, Any], str] | None = None
    person_error: type[PermissionDeniedError] = PermissionDeniedError
    # Extra condition on the record beyond its state: returns a refusal message or "" (409).
    guard: Callable[[Any, Any], str] | None = None
    style: str = "secondary"
    confirm: bool = field(default=False)


def allowed(
    transitions: dict[str, Transition], name: str, record: Any, user: Any, state_field: str
) -> str:
    """Why `user` may not take action `name` on `record` now, or "" when they may."""
    transition_ = transitions.get(name)
    if transition_ is None:
        return _("There is no action named “%(action)s”.") % {"action": name}
    state = getattr(record, state_field)
    if state not in transition_.sources:
        return _("“%(action)s” is not possible while the record is %(state)s.") % {
            "action": transition_.label,
            "state": _state_label(record, state_field),
        }
    if user is not None and not user.has_perm(transition_.permission):
        return _("You may not “%(action)s”.") % {"action": transition_.label}
    if user is not None and transition_.person_rule is not None:
        refusal = transition_.person_rule(record, user)
        if refusal:
            return refusal
    if transition_.guard is not None:
        return transition_.guard(record, user) or ""
    return ""


def actions_allowed(
    transitions: dict[str, Transition], record: Any, user: Any, state_field: str = "status"
) -> list[tuple[str, Transition]]:
    return [
        (name, item)
        for name, item in transitions.items()
        if not allowed(transitions, name, record, user, state_field)
    ]


def transition(
    record: RecordT,
    name: str,
    *,
    transitions: dict[str, Transition],
    actor: Any,
    state_field: str = "status",
    target: str | None = None,
    reason: str = "",
    changes: dict[str, Any] | None = None,
    update_fields: Iterable[str] | None = None,
) -> RecordT:
    """Lock the record, check the action, set the new state and the given fields, save.

    Must run inside the caller's transaction (the lock lasts until it ends). Returns the locked,
    saved record: callers continue with it, not with the copy they passed in.
    """
    if not transaction.get_connection(record._state.db or "default").in_atomic_block:
        raise RuntimeError("transition() must run inside transaction.atomic()")
    model = type(record)
    locked = model._base_manager.select_for_update().get(pk=record.pk)
    refusal = allowed(transitions, name, locked, actor, state_field)
    if refusal:
        rule = transitions.get(name)
        permitted = rule is None or actor is None or actor.has_perm(rule.permission)
        if not permitted:
            raise PermissionDeniedError(refusal)
        in_state = rule is not None and getattr(locked, state_field) in rule.sources
        if in_state and actor is not None and rule.person_rule and rule.person_rule(locked, actor):
            raise rule.person_error(refusal)
        raise InvalidTransitionError(refusal)
    new_state = target or transitions[name].target
    if new_state is not None:
        setattr(locked, state_field, new_state)
    for key, value in (changes or {}).items():
        setattr(locked, key, value)
    with audit_context(actor=actor, action=name, reason=reason or None):
        if update_fields is None:
            locked.save()
        else:
            locked.save(update_fields=[state_field, *update_fields, *(changes or {})])
    return locked


def _state_label(record: Any, state_field: str) -> str:
    display = getattr(record, f"get_{state_field}_display", None)
    return str(display()) if display else str(getattr(record, state_field))
