"""System checks of the accounts app."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from medservice.accounts.security_logs import MINIMUM_RETENTION_DAYS, security_log_retention_days


@register("medservice")
def check_security_log_retention(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """等保 2.0: security logs are kept at least six months."""
    days = security_log_retention_days()
    if days >= MINIMUM_RETENTION_DAYS:
        return []
    return [
        Error(
            f"SECURITY_LOG_RETENTION_DAYS is {days}; security logs must be kept at least "
            f"{MINIMUM_RETENTION_DAYS} days (等保 2.0: six months).",
            hint=f"Set SECURITY_LOG_RETENTION_DAYS to {MINIMUM_RETENTION_DAYS} or more "
            "(default 190).",
            id="medservice.E120",
        )
    ]
