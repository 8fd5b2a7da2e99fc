"""The daily job making the evaluation reports. Thin: it calls the service."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job


@periodic_job("analytics.evaluation-reports", every=datetime.timedelta(days=1))
def evaluation_reports() -> int:
    """Last month's report, and in a quarter's first month the last quarter's, each once."""
    from medservice.analytics.reports import evaluation_reports_due

    return len(evaluation_reports_due())
