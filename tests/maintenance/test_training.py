"""Operator training (使用培训): sessions with attendees, the sign-in sheet PDF, the device's
page listing who was trained on it, and re-training suggested by a use error found in a repair."""

from __future__ import annotations

import datetime
import io

import pytest
from pypdf import PdfReader

from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.models import Notification
from medservice.maintenance.choices import SuggestionStatus
from medservice.maintenance.models import RetrainingSuggestion
from medservice.maintenance.services_training import (
    operator_training_create,
    sign_in_sheet_pdf,
    suggestion_dismiss,
    suggestion_schedule,
)
from medservice.work_orders.events import work_order_completed
from medservice.work_orders.models import WorkOrder
from tests.factories import DepartmentFactory
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def icu(hospital_a):
    return DepartmentFactory(organization=hospital_a, name="重症医学科")


@pytest.fixture
def training(engineer, hospital_a, icu, ventilator):
    return operator_training_create(actor=engineer, data={
        "organization": hospital_a, "department": icu, "devices": [ventilator],
        "held_on": datetime.date(2026, 3, 21), "location": "ICU 示教室",
        "content": "呼吸机开机自检、报警处理、管路更换", "trainer": engineer,
        "attendees": [
            {"name": "张护士", "department": icu, "position": "护士长"},
            {"name": "刘医生", "department": icu, "position": ""},
        ],
    })  # fmt: skip


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_sign_in_sheet_lists_the_session_and_its_attendees(training):
    text = _text(sign_in_sheet_pdf(training))
    for expected in (training.number, "市第一人民医院", "重症医学科", "2026-03-21", "张护士",
                     "护士长", "刘医生", "呼吸机开机自检", "KV3-2603-0001"):  # fmt: skip
        assert expected in text, expected
    english = _text(sign_in_sheet_pdf(training, language="en"))
    assert "Operator training sign-in sheet" in english


def test_the_device_page_lists_who_was_trained_on_it(client, manager, training, ventilator):
    client.force_login(manager)
    page = client.get(f"/installed-base/devices/{ventilator.pk}/").content.decode()
    assert "Trained operators" in page
    assert "张护士" in page and "刘医生" in page


def test_a_session_refuses_a_device_or_department_of_another_organisation(
    engineer, hospital_a, hospital_b, ventilator
):
    elsewhere = DepartmentFactory(organization=hospital_b, name="急诊科")
    with pytest.raises(InvalidInputError) as refused:
        operator_training_create(actor=engineer, data={
            "organization": hospital_b, "department": elsewhere, "devices": [ventilator],
            "held_on": datetime.date(2026, 3, 21), "content": "x", "trainer": engineer,
            "attendees": [{"name": ""}],
        })  # fmt: skip
    assert refused.value.fields == {
        "devices": ["呼吸机 KV-300 KV3-2603-0001 belongs to 市第一人民医院, not to 县中医院."],
        "attendees.1.name": ["Give the attendee's name."],
    }


def _repair(device, **fields):
    return WorkOrderFactory(device=device, kind="repair", status="completed",
                            department=device.department, **fields)  # fmt: skip


def test_a_use_error_found_by_a_repair_suggests_retraining_the_department(
    ventilator, icu, service_manager
):
    ventilator.department = icu
    ventilator.save()
    repair = _repair(ventilator, exclusion="misuse", exclusion_evidence="管路接反导致报警")
    # when the repair's completion is published (twice: a retried event)
    work_order_completed.send(sender=WorkOrder, work_order=repair)
    work_order_completed.send(sender=WorkOrder, work_order=repair)
    # then one suggestion for the ICU, and the service manager is told
    suggestion = RetrainingSuggestion.objects.get()
    assert (suggestion.department, suggestion.device, suggestion.reason) == (
        icu, ventilator, "管路接反导致报警",
    )  # fmt: skip
    assert Notification.objects.filter(recipient=service_manager).count() == 1
    # and a repair without a use error suggests nothing
    work_order_completed.send(sender=WorkOrder, work_order=_repair(ventilator))
    assert RetrainingSuggestion.objects.count() == 1


def test_a_suggestion_becomes_a_session_or_is_dismissed_with_a_reason(
    ventilator, icu, service_manager, engineer
):
    first = RetrainingSuggestion.objects.create(
        organization=ventilator.organization, department=icu, device=ventilator,
        work_order=_repair(ventilator), reason="管路接反",
    )  # fmt: skip
    training = suggestion_schedule(actor=service_manager, suggestion=first, data={
        "held_on": datetime.date(2026, 4, 2), "trainer": engineer,
    })  # fmt: skip
    first.refresh_from_db()
    assert (first.status, first.training) == (SuggestionStatus.SCHEDULED, training)
    assert list(training.devices.all()) == [ventilator]
    assert training.department == icu
    with pytest.raises(InvalidTransitionError):
        suggestion_dismiss(actor=service_manager, suggestion=first, reason="重复")
    second = RetrainingSuggestion.objects.create(
        organization=ventilator.organization, device=ventilator, work_order=_repair(ventilator),
        reason="x",
    )  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        suggestion_dismiss(actor=service_manager, suggestion=second, reason=" ")
    assert refused.value.fields == {"reason": ["Say why no re-training is needed."]}
    done = suggestion_dismiss(actor=service_manager, suggestion=second, reason="已现场指导")
    assert (done.status, done.dismissed_reason) == (SuggestionStatus.DISMISSED, "已现场指导")
