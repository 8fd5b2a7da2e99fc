"""Periodic jobs of the accounts app."""

from __future__ import annotations

import datetime

from medservice.accounts.security_logs import security_logs_prune
from medservice.core.scheduler import periodic_job


@periodic_job("accounts.security-logs-prune", every=datetime.timedelta(days=1))
def security_logs_prune_job() -> int:
    """Prune the security logs past their retention (the service keeps the rules)."""
    return security_logs_prune()
