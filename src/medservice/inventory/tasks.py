"""Spare-parts periodic jobs: thin wrappers over services."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job
from medservice.inventory.services import stock_alerts_send


@periodic_job("inventory.stock-alerts", every=datetime.timedelta(days=1))
def stock_alerts() -> dict[str, int]:
    """Tell the warehouse of parts below their reorder point and lots expiring or expired."""
    return stock_alerts_send()


@periodic_job("inventory.calibration-reminders", every=datetime.timedelta(days=1))
def calibration_reminders() -> int:
    """Remind holders and warehouse keepers of instrument calibrations falling due."""
    from medservice.inventory.instruments import calibration_reminders_send

    return calibration_reminders_send()


@periodic_job("inventory.balance-check", every=datetime.timedelta(days=1))
def balance_check() -> int:
    """Compare the balance table with the ledger; tell administrators of any difference."""
    from medservice.inventory.services import stock_balances_check_and_report

    return stock_balances_check_and_report()
