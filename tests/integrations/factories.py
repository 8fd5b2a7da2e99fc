"""Webhook subscriptions for tests (created through the service, as the pages do)."""

from __future__ import annotations

from typing import Any

from medservice.integrations.choices import SUBSCRIBABLE_EVENTS
from medservice.integrations.services import subscription_create

SECRET = "whsec_test-secret-2026"


def subscribe(
    owner: Any,
    url: str,
    *,
    events: list[str] | None = None,
    organization: Any = None,
    name: str = "ERP",
) -> Any:
    return subscription_create(
        actor=owner,
        data={
            "name": name,
            "organization": organization,
            "owner": owner,
            "target_url": url,
            "secret": SECRET,
            "event_types": events or [str(choice) for choice in SUBSCRIBABLE_EVENTS],
        },
    )
