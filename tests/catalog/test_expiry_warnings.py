"""The daily job warns quality staff and the quality manager 60 and 30 days before a supplier
licence or a registration certificate expires: once per threshold, nothing on a rerun."""

from __future__ import annotations

import datetime

import pytest
from django.test import override_settings
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.catalog.models import ExpiryWarning
from medservice.core.models import Notification
from medservice.core.scheduler import JOBS
from tests.catalog.factories import DeviceModelFactory, SupplierFactory, SupplierLicenceFactory
from tests.factories import UserFactory, user_with_role

EXPIRES = datetime.date(2027, 1, 26)


def run_job_on(day: str) -> int:
    with freeze_time(f"{day} 02:00:00+08:00"):
        return JOBS["catalog.expiry-warnings"].function()


def subjects_of(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user).order_by("id").values_list("subject", flat=True)
    )


@pytest.fixture
def quality_team(quality_staff, quality_manager):
    return [quality_staff, quality_manager]


@pytest.fixture
def permit(db):
    supplier = SupplierFactory(name="上海瑞康医疗器械贸易有限公司")
    return SupplierLicenceFactory(
        supplier=supplier,
        kind="operation_permit",
        number="沪药监械经营许20210045号",
        valid_from=datetime.date(2022, 1, 27),
        valid_until=EXPIRES,
    )


def test_the_job_is_registered_to_run_daily():
    assert JOBS["catalog.expiry-warnings"].every == datetime.timedelta(days=1)


@pytest.mark.django_db
def test_the_quality_team_is_warned_60_then_30_days_ahead_once_each(quality_team, agent, permit):
    assert run_job_on("2027-11-25") == 0  # far from expiry (a year off: not in the window)
    assert run_job_on("2026-11-26") == 0  # 61 days ahead
    assert run_job_on("2026-11-27") == 1  # 60 days ahead
    assert run_job_on("2026-11-27") == 0  # the same day again
    assert run_job_on("2026-11-28") == 0  # 59 days ahead: already warned at 60
    assert run_job_on("2026-12-27") == 1  # 30 days ahead
    assert run_job_on("2026-12-27") == 0
    assert run_job_on("2027-01-20") == 0

    for person in quality_team:
        assert subjects_of(person) == [
            "上海瑞康医疗器械贸易有限公司: Medical device operation permit (经营许可证) expires "
            "in 60 days",
            "上海瑞康医疗器械贸易有限公司: Medical device operation permit (经营许可证) expires "
            "in 30 days",
        ]
    assert subjects_of(agent) == []
    assert list(
        ExpiryWarning.objects.order_by("threshold_days").values_list(
            "threshold_days", "sent_on", "expires_on", "recipient_count"
        )
    ) == [
        (30, datetime.date(2026, 12, 27), EXPIRES, 2),
        (60, datetime.date(2026, 11, 27), EXPIRES, 2),
    ]


@pytest.mark.django_db
def test_the_warning_names_the_licence_its_date_and_links_to_the_supplier(quality_staff, permit):
    run_job_on("2026-11-27")

    (warning,) = Notification.objects.filter(recipient=quality_staff)
    assert warning.body.startswith(
        "The Medical device operation permit (经营许可证) 沪药监械经营许20210045号 of the "
        "supplier 上海瑞康医疗器械贸易有限公司 expires on 2027-01-26.\n\nOnce it has expired, "
        "the supplier is locked"
    )
    assert warning.link == f"/catalog/suppliers/{permit.supplier_id}/"


@pytest.mark.django_db
def test_a_licence_entered_late_gets_only_the_30_day_warning(quality_staff, permit):
    assert run_job_on("2027-01-01") == 1  # 25 days ahead
    assert run_job_on("2027-01-02") == 0

    assert subjects_of(quality_staff) == [
        "上海瑞康医疗器械贸易有限公司: Medical device operation permit (经营许可证) expires in "
        "25 days"
    ]
    assert set(ExpiryWarning.objects.values_list("threshold_days", flat=True)) == {60, 30}


@pytest.mark.django_db
def test_an_already_recorded_renewal_silences_the_warning(quality_staff, permit):
    SupplierLicenceFactory(
        supplier=permit.supplier,
        kind="operation_permit",
        number="沪药监械经营许20260088号",
        valid_from=datetime.date(2027, 1, 27),
        valid_until=datetime.date(2032, 1, 26),
    )
    assert run_job_on("2026-11-27") == 0
    assert subjects_of(quality_staff) == []


@pytest.mark.django_db
def test_a_renewed_date_is_warned_of_again(quality_staff, permit):
    run_job_on("2026-11-27")
    permit.valid_until = datetime.date(2027, 3, 27)
    permit.save()

    assert run_job_on("2027-01-26") == 1  # 60 days before the new date
    assert len(subjects_of(quality_staff)) == 2


@pytest.mark.django_db
def test_registration_certificates_are_warned_of_too(quality_manager):
    model = DeviceModelFactory(
        model_spec="HK-M12",
        registration_number="粤械注准20202070156",
        registration_valid_until=datetime.date(2027, 1, 16),
    )

    assert run_job_on("2026-11-17") == 1
    assert run_job_on("2026-11-17") == 0

    (warning,) = Notification.objects.filter(recipient=quality_manager)
    assert warning.subject == (
        "Registration certificate of 多参数病人监护仪 HK-M12 expires in 60 days"
    )
    assert warning.body.startswith(
        "The registration certificate 粤械注准20202070156 of 多参数病人监护仪 HK-M12 "
        f"(manufacturer: {model.manufacturer.name}) expires on 2027-01-16."
    )
    assert warning.link == f"/catalog/device-models/{model.pk}/"


@pytest.mark.django_db
def test_inactive_quality_users_are_not_warned(company, quality_staff, permit):
    retired = user_with_role(Role.QUALITY_STAFF, company, username="retired", is_active=False)
    run_job_on("2026-11-27")
    assert subjects_of(retired) == []
    assert len(subjects_of(quality_staff)) == 1


@pytest.mark.django_db
def test_without_anyone_to_warn_the_warning_stays_due(company, permit):
    assert run_job_on("2026-11-27") == 0
    assert not ExpiryWarning.objects.exists()

    quality_staff = user_with_role(Role.QUALITY_STAFF, company, username="new_quality")
    assert run_job_on("2026-11-28") == 1
    assert len(subjects_of(quality_staff)) == 1


@pytest.mark.django_db
def test_a_chinese_speaking_quality_manager_reads_the_warning_in_chinese(company, permit):
    manager = UserFactory(organization=company, language="zh-hans", role=Role.QUALITY_MANAGER)
    run_job_on("2026-11-27")
    (warning,) = Notification.objects.filter(recipient=manager)
    # The wording is the translators'; the facts and the language are the test's.
    assert warning.subject.startswith("上海瑞康医疗器械贸易有限公司")
    assert "医疗器械经营许可证" in warning.subject and "60" in warning.subject
    assert "expires" not in warning.subject and "到期" in warning.subject


@pytest.mark.django_db
@override_settings(MEDSERVICE_EXPIRY_WARNING_DAYS=(90, 30, 7))
def test_the_thresholds_are_a_setting(quality_staff, permit):
    assert run_job_on("2026-10-28") == 1  # 90 days ahead
    assert run_job_on("2027-01-19") == 1  # 7 days ahead (30 was skipped: marked passed)
    assert ExpiryWarning.objects.count() == 3
