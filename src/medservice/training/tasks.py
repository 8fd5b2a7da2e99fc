"""Training periodic jobs: thin wrappers over services."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job


@periodic_job("training.certification-reminders", every=datetime.timedelta(days=1))
def certification_reminders() -> int:
    """Remind people and their managers of certifications ending within 30 days."""
    from medservice.training.sessions import certification_reminders_send

    return certification_reminders_send()


@periodic_job("training.documents-supersede", every=datetime.timedelta(days=1))
def documents_supersede() -> int:
    """Mark superseded the document versions whose successor took effect today."""
    from medservice.training.documents import document_versions_supersede_due

    return document_versions_supersede_due()
