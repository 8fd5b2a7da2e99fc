"""Quality periodic jobs: thin wrappers over services."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job


@periodic_job("quality.contact-clock", every=datetime.timedelta(minutes=5))
def contact_clock() -> dict[str, int]:
    """Warn when a quality complainant has not been contacted in time (SOP-3)."""
    from medservice.quality.services import contact_clock_sweep

    return contact_clock_sweep()


# == decisions: investigation, decision, supplier and manufacturer notices, evidence hold, regulator feedback ==


# == adverse_events: adverse-event reports and their reporting rules ==


@periodic_job("quality.adverse-event-clock", every=datetime.timedelta(minutes=5))
def adverse_event_clock() -> dict[str, int]:
    """Warn before an adverse-event report falls due and escalate when it is late."""
    from medservice.quality.adverse_events import report_clock_sweep

    return report_clock_sweep()


# == recalls: trace, stop-use notices and recalls ==


# == capa: CAPA and trend signals ==


@periodic_job("quality.capa-overdue-actions", every=datetime.timedelta(hours=1))
def capa_overdue_actions() -> dict[str, int]:
    """Remind owners of overdue CAPA actions, once per day each."""
    from medservice.quality.capa import capa_overdue_action_sweep

    return capa_overdue_action_sweep()


# Daily, though the rule is monthly: the first run after a month ends evaluates it, the others
# find its signals already raised (and a missed day catches up).
@periodic_job("quality.trend-signals", every=datetime.timedelta(days=1))
def trend_signals() -> dict[str, int]:
    """Test last month's complaints per model, batch and fault code; raise trend signals."""
    from medservice.quality.trends import trends_evaluate

    return trends_evaluate()


# == accidents: quality accidents and retention of quality records ==
@periodic_job("quality.accident-report-clock", every=datetime.timedelta(minutes=5))
def accident_report_clock() -> dict[str, int]:
    """Warn before and on breach of a quality accident's report deadline."""
    from medservice.quality.accidents import accident_report_clock_sweep

    return accident_report_clock_sweep()
