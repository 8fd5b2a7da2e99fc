"""Test-only records that use core's abstract bases the way domain apps will."""

import datetime

from django.db import models

from medservice.core.models import AuditedModel, RetainedModel, SignableModel
from medservice.core.retention import add_years


class ServiceRecord(AuditedModel, RetainedModel, SignableModel):
    """A stand-in for a signed, regulated service record: kept 5 years after the service."""

    organization = models.ForeignKey("customers.Organization", on_delete=models.PROTECT)
    title = models.CharField(max_length=100)
    serviced_on = models.DateField(default=datetime.date(2026, 1, 5))
    status = models.CharField(max_length=20, default="open")
    checklist = models.JSONField(default=dict, blank=True)

    mutable_after_signing = frozenset({"status"})

    def __str__(self) -> str:
        return self.title

    def retention_dates(self):
        return [("R-USE", add_years(self.serviced_on, 5))]
