"""Who is acting, for which request or job: read by the audit trail wherever a write happens.

Services pass the actor explicitly (`audit_context(actor=...)`); the request middleware and
the job runner set the request id, client address and job name underneath.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    actor: Any = None
    job: str = ""
    reason: str = ""
    action: str = ""
    request_id: str = ""
    client_address: str | None = None
    request: Any = None


_current: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "medservice_audit_context",
    default=AuditContext(),  # noqa: B039  (frozen dataclass: immutable)
)


def current_context() -> AuditContext:
    return _current.get()


@contextlib.contextmanager
def audit_context(**changes: Any) -> Iterator[AuditContext]:
    """Layer actor, reason, action or job over the current context for the block."""
    new = replace(_current.get(), **{k: v for k, v in changes.items() if v is not None})
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)


def current_actor() -> Any:
    context = _current.get()
    if context.actor is not None:
        return context.actor
    request = context.request
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None
