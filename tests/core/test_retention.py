"""The retention guard: no deletion before retain_until or under a legal hold."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.core.errors import RetentionError
from medservice.core.retention import add_years, legal_hold_place, legal_hold_release
from medservice.core.services import record_delete
from tests.testapp.models import ServiceRecord


@pytest.fixture
def record(hospital_a):
    return ServiceRecord.objects.create(
        organization=hospital_a, title="保养记录", serviced_on=datetime.date(2026, 3, 1)
    )


@pytest.mark.django_db
def test_retain_until_is_computed_from_the_records_rules(record):
    assert record.retain_until == datetime.date(2031, 3, 1)


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_deleting_before_retain_until_is_refused_with_the_date(record, manager):
    with pytest.raises(RetentionError) as error:
        record_delete(actor=manager, instance=record, reason="清理")
    assert (
        str(error.value)
        == "保养记录 must be kept until 2031-03-01 and cannot be deleted before then."
    )
    assert ServiceRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_bulk_delete_is_refused_too(record):
    with freeze_time("2026-11-27"), pytest.raises(RetentionError):
        ServiceRecord.objects.all().delete()
    assert ServiceRecord.objects.count() == 1


@pytest.mark.django_db
def test_after_retain_until_the_record_may_be_deleted(record, manager):
    with freeze_time("2031-03-02"):
        record_delete(actor=manager, instance=record, reason="保存期限已满")
    assert not ServiceRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_legal_hold_keeps_the_record_after_retain_until_until_released(record, manager):
    hold = legal_hold_place(actor=manager, record=record, reason="诉讼保全")
    with freeze_time("2031-03-02"), pytest.raises(RetentionError) as error:
        record_delete(actor=manager, instance=record, reason="保存期限已满")
    assert "under a legal hold (诉讼保全)" in str(error.value)
    legal_hold_release(actor=manager, hold=hold, reason="诉讼结束")
    with freeze_time("2031-03-02"):
        record_delete(actor=manager, instance=record, reason="保存期限已满")
    assert not ServiceRecord.objects.filter(pk=record.pk).exists()


@pytest.mark.django_db
def test_a_legal_hold_needs_a_reason(record, manager):
    with pytest.raises(RetentionError):
        legal_hold_place(actor=manager, record=record, reason="  ")


def test_add_years_keeps_the_day_and_moves_29_february():
    assert add_years(datetime.date(2024, 2, 29), 5) == datetime.date(2029, 2, 28)
    assert add_years(datetime.date(2026, 1, 5), 2) == datetime.date(2028, 1, 5)
