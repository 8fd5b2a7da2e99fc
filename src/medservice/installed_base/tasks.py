"""Installed-base periodic jobs: thin wrappers over services."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job
from medservice.installed_base.services import contract_renewal_reminders_send


@periodic_job("installed_base.contract-renewal-reminders", every=datetime.timedelta(days=1))
def contract_renewal_reminders() -> int:
    """Remind service managers and the salesperson of contracts nearing their end."""
    return contract_renewal_reminders_send()
