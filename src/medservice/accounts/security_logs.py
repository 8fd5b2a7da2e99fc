"""The security logs (等保 2.0): sign-ins, failed sign-ins and lockouts, as django-axes records
them; role and permission changes are in the audit trail (accounts.user events). They are kept
at least 180 days (SECURITY_LOG_RETENTION_DAYS, default 190) and pruned after that by the
periodic job `accounts.security-logs-prune`."""

from __future__ import annotations

import datetime

from axes.models import AccessFailureLog, AccessLog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

# 等保 2.0 asks for six months of security logs: fewer days than this is refused at start-up.
MINIMUM_RETENTION_DAYS = 180


def security_log_retention_days() -> int:
    return int(getattr(settings, "SECURITY_LOG_RETENTION_DAYS", 190))


def security_logs_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete the sign-in and failure records older than the retention; how many went.

    Never deletes a record inside the retention, even if the setting was lowered below the
    minimum (the system check refuses such a setting; this is the second line)."""
    days = max(security_log_retention_days(), MINIMUM_RETENTION_DAYS)
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    with transaction.atomic():
        signed_in, _detail = AccessLog.objects.filter(attempt_time__lt=cutoff).delete()
        failed, _detail = AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()
    return signed_in + failed
