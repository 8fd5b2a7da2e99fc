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


# == recalls: trace, stop-use notices and recalls ==
@periodic_job("quality.recall-deadlines", every=datetime.timedelta(minutes=15))
def recall_deadlines() -> dict[str, int]:
    """Warn when recall notices (CN-RC-1) or the regulator filing (CN-RC-2) fall due."""
    from medservice.quality.recalls import recall_deadline_sweep

    return recall_deadline_sweep()


# == capa: CAPA and trend signals ==


# == accidents: quality accidents and retention of quality records ==
