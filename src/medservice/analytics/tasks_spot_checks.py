"""The monthly spot-check draw, run by the scheduler (thin: it calls the service)."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job


# Daily, so a missed first of the month is caught up the next day; the draw itself happens
# once per plan and month (unique on plan and period), so reruns draw nothing.
@periodic_job("analytics.spot-checks", every=datetime.timedelta(days=1))
def spot_check_samples() -> int:
    """Draw last month's sample of every active spot-check plan that has none yet."""
    from medservice.analytics.spot_checks import spot_check_samples_monthly

    return spot_check_samples_monthly()
