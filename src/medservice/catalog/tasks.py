"""Catalogue periodic jobs: thin wrappers over services."""

from __future__ import annotations

import datetime

from medservice.catalog.services import expiry_warnings_send
from medservice.core.scheduler import periodic_job


@periodic_job("catalog.expiry-warnings", every=datetime.timedelta(days=1))
def expiry_warnings() -> int:
    """Warn quality staff and the quality manager of licences and registration certificates
    reaching 60 / 30 days before expiry; each threshold once per record and expiry date."""
    return expiry_warnings_send()
