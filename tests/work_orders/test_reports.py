"""The service report (售后服务记录表): made and signed by the engineer at completion, the PDF in
the customer's language with the Chinese in a real CJK font, the customer's signature on the
engineer's phone, in the portal or through a one-time link, the frozen record and its
revisions, and the API."""

from __future__ import annotations

import base64
import datetime
import io
import re

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from freezegun import freeze_time
from pypdf import PdfReader

from medservice.accounts.choices import Role
from medservice.core.errors import FrozenRecordError, InvalidInputError, InvalidTransitionError
from medservice.core.models import Notification
from medservice.core.signatures import signature_is_intact, signatures_of
from medservice.work_orders.choices import WorkOrderKind, WorkOrderStatus
from medservice.work_orders.models import ServiceReport
from medservice.work_orders.reports import (
    failure_analysis_pdf,
    failure_analysis_send,
    report_current,
    report_pdf,
    report_revise,
    report_sign,
    report_sign_by_link,
)
from medservice.work_orders.services import (
    work_order_assess,
    work_order_complete,
    work_order_create,
    work_order_plan,
    work_order_transition,
)
from tests.factories import user_with_role
from tests.work_orders.conftest import PASSWORD

pytestmark = pytest.mark.django_db

COMPLETED_AT = "2026-11-27 10:00:00+08:00"


def png_data_url(extra: bytes = b"") -> str:
    """A real 1×1 PNG (what a canvas gives), optionally padded to a chosen size."""
    pixel = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    return "data:image/png;base64," + base64.b64encode(pixel + extra).decode()


SIGNATURE = png_data_url()


@pytest.fixture
def nurse(hospital_a):
    """The hospital's portal user: reads English, receives the signing link."""
    return user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse")


def complete_remote_work(engineer, device, *, language: str):
    """Remote support from opening to completion, through the services."""
    work_order = work_order_create(
        actor=engineer, kind=WorkOrderKind.REMOTE_SUPPORT, device=device, problem="开机无显示"
    )
    work_order = work_order_assess(
        actor=engineer, work_order=work_order, route="remote", assessment="远程排查电源"
    )
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="远程指导重启")
    with transaction.atomic():
        work_order = work_order_transition(work_order, "start", actor=engineer)
    work_order.symptom = "屏幕黑屏"
    work_order.root_cause = "电源适配器接触不良"
    work_order.actions_taken = "指导用户重新插紧电源适配器，开机正常"
    work_order.screened_at = timezone.now()
    work_order.screened_by = engineer
    work_order.is_complaint = False
    work_order.may_be_reportable = False
    work_order.save()
    return work_order_complete(
        actor=engineer, work_order=work_order, result="returned_to_service", password=PASSWORD,
        language=language,
    )  # fmt: skip


@pytest.fixture
def completed(engineer, device, nurse):
    with freeze_time(COMPLETED_AT):
        return complete_remote_work(engineer, device, language="zh-hans")


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def signing_token(user) -> str:
    """The token of the latest signing link sent to `user` (in the message's URL)."""
    body = Notification.objects.filter(recipient=user, body__contains="/s/").latest("pk").body
    return re.search(r"/s/([\w-]+)/", body).group(1)


def test_completion_makes_report_r1_signed_by_the_engineer_and_sends_the_customer_a_link(
    completed, engineer, nurse, device
):
    report = report_current(completed)
    assert (report.number, report.revision, report.language) == (completed.number, 1, "zh-hans")
    assert report.engineer_name == engineer.get_full_name()
    assert report.signed_at is None
    content = report.content
    assert content["customer"]["organization"] == "市第一人民医院"
    assert content["device"]["serial"] == "KM8-2603-00001"
    assert content["diagnosis"]["root_cause"] == "电源适配器接触不良"
    assert (content["screening"]["is_complaint"], content["screening"]["may_be_reportable"]) == (
        "否", "否",
    )  # fmt: skip
    assert content["engineers"][0]["name"] == engineer.get_full_name()
    assert content["engineers"][0]["certification"].endswith("2027-12-31")
    [signature] = signatures_of(report)
    assert (signature.signer, signature.signer_kind, signature.revision) == (
        engineer,
        "internal",
        1,
    )
    assert signing_token(nurse)


def test_the_chinese_pdf_shows_the_customer_device_and_engineer_in_a_cjk_font(completed, engineer):
    text = pdf_text(report_pdf(report_current(completed)))
    assert "售后服务记录表" in text
    assert "市第一人民医院" in text
    assert "KM8-2603-00001" in text
    assert "多参数监护仪" in text
    assert "电源适配器接触不良" in text
    assert engineer.get_full_name() in text


def test_an_english_report_has_english_headings(engineer, device, nurse):
    with freeze_time(COMPLETED_AT):
        work_order = complete_remote_work(engineer, device, language="en")
    pdf = report_pdf(report_current(work_order))
    text = pdf_text(pdf)
    assert "Service record" in text
    assert "Customer and device" in text
    assert "Registration certificate" in text
    assert "Not signed yet" in text
    assert "KM8-2603-00001" in text
    assert not any(page.images for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_customer_signing_on_the_phone_freezes_the_report_and_closes_the_work_order(
    completed, engineer
):
    with freeze_time("2026-11-27 10:30:00+08:00"):
        report = report_sign(
            actor=engineer, report=report_current(completed), printed_name="李护士长",
            signature_image=SIGNATURE,
        )  # fmt: skip
    assert (report.customer_name, report.sign_method) == ("李护士长", "on_site")
    assert report.signed_at == datetime.datetime(2026, 11, 27, 2, 30, tzinfo=datetime.UTC)
    completed.refresh_from_db()
    assert completed.status == WorkOrderStatus.CLOSED
    assert completed.closed_at == report.signed_at
    customer = [item for item in signatures_of(report) if item.signer_kind == "customer"]
    # The meaning is kept in the report's language, as the PDF prints it.
    with translation.override("zh-hans"):
        meaning = gettext("Confirms the service result")
    assert [(item.printed_name, item.meaning) for item in customer] == [("李护士长", meaning)]
    # Both the engineer's and the customer's signatures still match the report they signed.
    assert [
        (item.signer_kind, signature_is_intact(item, report)) for item in signatures_of(report)
    ] == [("internal", True), ("customer", True)]
    report.customer_name = "张三"
    with pytest.raises(FrozenRecordError):
        report.save()
    pdf = report_pdf(ServiceReport.objects.get(pk=report.pk))
    text = pdf_text(pdf)
    assert "李护士长" in text
    assert "2026-11-27 10:30" in text
    # The drawn signature is embedded in the PDF (the unsigned report has no image at all).
    assert any(page.images for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_bad_signature_image_is_refused_on_its_field(completed, engineer):
    report = report_current(completed)
    for image in ("", "data:image/jpeg;base64,AAAA", "data:image/png;base64,@@@",
                  "data:image/png;base64," + base64.b64encode(b"GIF89a").decode(),
                  png_data_url(b"\0" * 500 * 1024)):  # fmt: skip
        with pytest.raises(InvalidInputError) as refused:
            report_sign(actor=engineer, report=report, printed_name="李护士长",
                        signature_image=image)  # fmt: skip
        assert list(refused.value.fields) == ["signature_image"]
    with pytest.raises(InvalidInputError) as refused:
        report_sign(actor=engineer, report=report, printed_name=" ", signature_image=SIGNATURE)
    assert list(refused.value.fields) == ["printed_name"]
    report.refresh_from_db()
    assert report.signed_at is None


def test_a_revision_supersedes_the_signed_report_and_needs_a_new_signature(
    completed, engineer, service_manager, nurse
):
    first = report_sign(
        actor=engineer, report=report_current(completed), printed_name="李护士长",
        signature_image=SIGNATURE,
    )  # fmt: skip
    completed.refresh_from_db()
    completed.root_cause = "电源适配器插头松动"
    completed.save()
    with freeze_time("2026-11-28 09:00:00+08:00"):
        second = report_revise(actor=service_manager, report=first, reason="原因写错")
    assert (second.revision, second.supersedes, second.revision_reason) == (2, first, "原因写错")
    assert (second.signed_at, second.customer_name) == (None, "")
    assert second.content["diagnosis"]["root_cause"] == "电源适配器插头松动"
    assert report_current(completed) == second
    with pytest.raises(InvalidTransitionError):
        report_sign(actor=engineer, report=first, printed_name="李护士长",
                    signature_image=SIGNATURE)  # fmt: skip
    text = pdf_text(report_pdf(second))
    assert "原因写错" in text
    report_sign_by_link(token=signing_token(nurse), printed_name="李护士长",
                        signature_image=SIGNATURE)  # fmt: skip
    second.refresh_from_db()
    assert (second.signed_at is not None, second.sign_method) == (True, "link")


def test_the_public_link_signs_once_and_then_is_used_up(client, completed, nurse):
    token = signing_token(nurse)
    url = reverse("work_orders:report-sign-link", kwargs={"token": token})
    page = client.get(url)
    assert page.status_code == 200
    assert "KM8-2603-00001" in page.content.decode()
    assert "data-signature-pad" in page.content.decode()
    refused = client.post(url, {"printed_name": "李护士长", "signature_image": "data:x"})
    assert refused.status_code == 400
    assert "The signature must be a PNG image drawn on screen." in refused.content.decode()
    signed = client.post(url, {"printed_name": "李护士长", "signature_image": SIGNATURE})
    assert signed.status_code == 200
    report = report_current(completed)
    assert (report.customer_name, report.sign_method) == ("李护士长", "link")
    assert client.get(url).status_code == 404
    assert client.post(url, {"printed_name": "x", "signature_image": SIGNATURE}).status_code == 404


def test_the_link_expires_after_seven_days(client, completed, nurse):
    url = reverse("work_orders:report-sign-link", kwargs={"token": signing_token(nurse)})
    with freeze_time("2026-12-05 10:00:00+08:00"):
        response = client.get(url)
    assert response.status_code == 404
    assert "This link has expired." in response.content.decode()


def test_the_engineer_records_the_signature_from_the_phone_page(client, completed, engineer):
    client.force_login(engineer)
    page = client.get(reverse("work_orders:visit", kwargs={"pk": completed.pk}))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="visit-signature"' in html
    assert 'data-action="sign"' in html
    assert "work_orders/signature.js" in html
    url = reverse("work_orders:work-order-action", kwargs={"pk": completed.pk, "name": "sign"})
    refused = client.post(url, {"origin": "visit", "printed_name": "李护士长",
                                "signature_image": "data:image/png;base64,@@"})  # fmt: skip
    assert refused.status_code == 400
    assert "The signature image could not be read." in refused.content.decode()
    done = client.post(url, {"printed_name": "李护士长", "signature_image": SIGNATURE})
    assert done.status_code == 302
    completed.refresh_from_db()
    assert completed.status == WorkOrderStatus.CLOSED


def test_the_customer_signs_in_the_portal(client, completed, nurse):
    client.force_login(nurse)
    page = client.get(reverse("work_orders:portal-work-order", kwargs={"pk": completed.pk}))
    assert 'id="portal-sign-form"' in page.content.decode()
    response = client.post(
        reverse("work_orders:report-sign", kwargs={"pk": completed.pk}),
        {"printed_name": "李护士长", "signature_image": SIGNATURE},
    )
    assert response.status_code == 302
    report = report_current(completed)
    assert (report.sign_method, report.signed_at is not None) == ("portal", True)


def test_the_pdf_downloads_with_its_revision_in_the_name(client, completed, engineer):
    client.force_login(engineer)
    response = client.get(reverse("work_orders:report-pdf", kwargs={"pk": completed.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{completed.number}-r1.pdf"'
    assert response.content.startswith(b"%PDF")


def test_another_hospital_cannot_see_the_report(client, completed, hospital_b):
    outsider = user_with_role(Role.CUSTOMER_USER, hospital_b, username="other")
    client.force_login(outsider)
    assert (
        client.get(reverse("work_orders:report-pdf", kwargs={"pk": completed.pk})).status_code
        == 404
    )
    response = client.post(reverse("work_orders:report-sign", kwargs={"pk": completed.pk}),
                           {"printed_name": "x", "signature_image": SIGNATURE})  # fmt: skip
    assert response.status_code == 404


def test_revising_from_the_record_page_needs_a_reason(client, completed, service_manager):
    client.force_login(service_manager)
    report = report_current(completed)
    url = reverse("work_orders:report-revise", kwargs={"report_pk": report.pk})
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "补充配件批号"}).status_code == 302
    assert report_current(completed).revision == 2
    page = client.get(reverse("work_orders:work-orders-detail", kwargs={"pk": completed.pk}))
    assert 'id="report-revisions"' in page.content.decode()


def test_the_failure_analysis_report_is_a_pdf_sent_by_email(
    completed, engineer, mailoutbox, django_capture_on_commit_callbacks
):
    text = pdf_text(failure_analysis_pdf(completed, "en"))
    assert "Failure analysis report" in text
    assert "电源适配器接触不良" in text
    with django_capture_on_commit_callbacks(execute=True):
        failure_analysis_send(actor=engineer, work_order=completed, email="kezhang@hospital.cn")
    [message] = [item for item in mailoutbox if item.attachments]
    assert message.to == ["kezhang@hospital.cn"]
    [(name, content, mime)] = message.attachments
    assert (name, mime) == (f"{completed.number}-failure-analysis.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    with pytest.raises(InvalidInputError) as refused:
        failure_analysis_send(actor=engineer, work_order=completed, email="not-an-address")
    assert list(refused.value.fields) == ["email"]


def test_the_api_signs_and_serves_the_pdf(api, completed, engineer, hospital_b):
    client = api.as_user(engineer)
    base = f"/api/v1/work-orders/{completed.pk}"
    bad = client.post(f"{base}/sign/", {"printed_name": "李护士长", "signature_image": "x"},
                      format="json")  # fmt: skip
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["signature_image"]
    signed = client.post(f"{base}/sign/", {"printed_name": "李护士长",
                                           "signature_image": SIGNATURE}, format="json")  # fmt: skip
    assert signed.status_code == 200
    assert signed.json()["status"] == "closed"
    report = client.get(f"{base}/report/").json()
    assert (report["revision"], report["customer_name"], report["sign_method"]) == (
        1, "李护士长", "on_site",
    )  # fmt: skip
    assert [item["signer_kind"] for item in report["signatures"]] == ["internal", "customer"]
    pdf = client.get(f"{base}/report.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    outsider = api.as_user(user_with_role(Role.CUSTOMER_USER, hospital_b, username="other"))
    assert outsider.get(f"{base}/report.pdf").status_code == 404
    assert outsider.post(f"{base}/sign/", {"printed_name": "x", "signature_image": SIGNATURE},
                         format="json").status_code == 404  # fmt: skip
