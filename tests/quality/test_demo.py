"""The demo quality department: the syringe complaint's case, a reportable adverse event whose
report is due in two days, a recall in progress and its CAPA — told once."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from medservice.core.demo import demo_seed_all
from medservice.installed_base.models import Hold
from medservice.quality.models import (
    AdverseEventReport,
    Capa,
    CapaAction,
    CaseDecision,
    InvestigationEntry,
    QualityCase,
    Recall,
    RecallDevice,
    RecallNotice,
    RecallRecipient,
    SupplierNotice,
)
from medservice.work_orders.models import WorkOrder

pytestmark = pytest.mark.django_db

MODELS = (
    QualityCase, CaseDecision, InvestigationEntry, SupplierNotice, AdverseEventReport, Recall,
    RecallRecipient, RecallDevice, RecallNotice, Capa, CapaAction, Hold, WorkOrder,
)  # fmt: skip


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_the_demo_quality_story_is_seeded_once():
    demo_seed_all()
    first = counts()
    demo_seed_all()
    assert counts() == first

    # Three cases of the quality story, and one from a store's opinion book (the feedback demo).
    assert first["QualityCase"] == 4
    assert QualityCase.objects.filter(source="opinion_book").count() == 1
    assert first["CaseDecision"] == 2
    assert first["AdverseEventReport"] == 1
    assert first["Recall"] == 1
    assert first["Capa"] == 1
    assert first["CapaAction"] == 2

    # 1. The syringe complaint: contacted within 24 hours, investigated, supplier acknowledged.
    syringe = QualityCase.objects.get(ticket__subject="注射器针头脱落")
    assert syringe.status == "investigating"
    assert syringe.contacted_at is not None
    assert syringe.contacted_at - syringe.awareness_at <= datetime.timedelta(hours=24)
    assert syringe.investigation_entries.exists()
    assert syringe.supplier_notices.filter(status="acknowledged").exists()

    # 2. The serious injury: a reportable AE, its draft report due in 1-3 days, warning.
    decision = CaseDecision.objects.get(outcome="reportable_ae")
    assert decision.decided_by.username == "qa_manager"
    assert decision.harm == "serious_injury"
    report = AdverseEventReport.objects.get()
    assert report.status == "draft"
    assert report.quality_case == decision.case
    now = timezone.now()
    assert (
        now + datetime.timedelta(days=1) < report.report_due_at < now + datetime.timedelta(days=3)
    )
    assert report.warn_at < now and report.warned_at is not None

    # 3. The recall in progress: class II, signed, both hospitals told, one acknowledged.
    from medservice.quality.recalls import recall_progress

    recall = Recall.objects.get()
    assert (recall.status, recall.recall_class) == ("in_progress", "II")
    assert recall.signoffs.filter(meaning="decision").exists()
    recipients = RecallRecipient.objects.filter(recall=recall)
    assert recipients.count() >= 2
    assert not recipients.filter(notified_at__isnull=True).exists()
    assert set(RecallNotice.objects.values_list("channel", flat=True)) == {"email", "letter"}
    acknowledged = recipients.get(acknowledged_at__isnull=False)
    assert acknowledged.quantity_held + acknowledged.quantity_corrected > 0
    corrected = RecallDevice.objects.get(recall=recall, disposition="corrected_on_site")
    assert corrected.work_order is not None
    assert 0 < recall_progress(recall).percent < 100
    assert recall.notify_due_at >= max(recipients.values_list("notified_at", flat=True))

    # Every notice of the quality story went out; the AE one still awaits its answer. (The store
    # opinion-book case is new: its supplier notice is still a draft for quality staff to send.)
    story_notices = SupplierNotice.objects.exclude(case__source="opinion_book")
    assert not story_notices.filter(status="draft").exists()
    assert SupplierNotice.objects.filter(status="sent", reason="adverse_event").count() == 1

    # 4. The corrective CAPA from the recall's case: two actions, one done.
    capa = Capa.objects.get()
    assert capa.kind == "corrective"
    assert capa.source_label == recall.quality_case.number
    assert capa.actions.filter(done_at__isnull=False).count() == 1
