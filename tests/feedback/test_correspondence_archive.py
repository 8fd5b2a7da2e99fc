"""The correspondence archive (来往函件): letters, faxes and e-mails numbered in one sequence,
filed per organisation and product and shown in the customer archive; an e-mail is filed from
its original message, its headers read by the standard library."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.feedback.models import Letter
from medservice.feedback.services_correspondence import email_parse
from tests.factories import OrganizationFactory, user_with_role
from tests.feedback.factories_stores import LetterFactory
from tests.installed_base.factories import DeviceModelFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# A real message as Thunderbird saves it: an encoded-word subject and sender name (UTF-8,
# base64), a +0800 date, a quoted-printable text body and a PDF attachment.
EML = (
    b"Return-Path: <equipment@hospital1.example.cn>\r\n"
    b"Message-ID: <20260305093012.4711@hospital1.example.cn>\r\n"
    b"Date: Thu, 05 Mar 2026 09:30:12 +0800\r\n"
    b"From: =?UTF-8?B?5biC56ys5LiA5Lq65rCR5Yy76ZmiIOiuvuWkh+enkQ==?= "
    b"<equipment@hospital1.example.cn>\r\n"
    b"To: service@kangda.example.cn\r\n"
    b"Subject: =?UTF-8?B?5YWz5LqOIEtELU04MDAwIOaKpeitpumfs+mHj+eahOWSqOivog==?=\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="----=_Part_0_1"\r\n'
    b"\r\n"
    b"------=_Part_0_1\r\n"
    b"Content-Type: text/plain; charset=UTF-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    + "ICU 夜间报警音量偏大，请告知能否调低。".encode().hex("=").upper().join(["=", ""]).encode()
    + b"\r\n"
    b"------=_Part_0_1\r\n"
    b'Content-Type: application/pdf; name="scan.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="scan.pdf"\r\n'
    b"\r\n" + base64.encodebytes(PDF) + b"\r\n"
    b"------=_Part_0_1--\r\n"
)


@pytest.fixture
def hospital(db):
    return OrganizationFactory(name="市第一人民医院")


@pytest.fixture
def service_agent(company):
    return user_with_role(Role.SERVICE_AGENT, company, username="agent")


def letter_body(organization, **changes):
    return {
        "kind": "letter", "direction": "in", "letter_date": timezone.localdate().isoformat(),
        "subject": "关于监护仪报警音量的函", "organization": organization.pk, **changes,
    }  # fmt: skip


def test_letters_faxes_and_emails_share_one_numbering(api, hospital, service_agent):
    client = api.as_user(service_agent)
    numbers = [
        client.post("/api/v1/correspondence/", letter_body(hospital, kind=kind),
                    format="json").json()["number"]
        for kind in ("letter", "fax", "email")
    ]  # fmt: skip
    year = timezone.localdate().year
    assert numbers == [f"LT-{year}-000001", f"LT-{year}-000002", f"LT-{year}-000003"]


def test_the_standard_library_reads_a_real_message():
    parsed = email_parse(EML)

    assert parsed.subject == "关于 KD-M8000 报警音量的咨询"
    assert parsed.sender == "市第一人民医院 设备科 <equipment@hospital1.example.cn>"
    assert parsed.sender_address == "equipment@hospital1.example.cn"
    assert parsed.sent_at.isoformat() == "2026-03-05T09:30:12+08:00"
    assert parsed.message_id == "<20260305093012.4711@hospital1.example.cn>"
    assert parsed.body == "ICU 夜间报警音量偏大，请告知能否调低。"
    assert [(name, mime) for name, mime, _content in parsed.attachments] == [
        ("scan.pdf", "application/pdf")
    ]


def test_an_email_is_filed_from_its_eml_once(api, hospital, service_agent):
    monitor = DeviceModelFactory(name="多参数病人监护仪", model_spec="KD-M8000")
    client = api.as_user(service_agent)

    def upload():
        return client.post("/api/v1/correspondence/from-email/", {
            "file": SimpleUploadedFile("message.eml", EML, content_type="message/rfc822"),
            "organization": hospital.pk, "device_model": monitor.pk,
        }, format="multipart")  # fmt: skip

    first = upload()
    second = upload()

    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["kind"] == "email"
    assert body["direction"] == "in"
    assert body["subject"] == "关于 KD-M8000 报警音量的咨询"
    assert body["letter_date"] == "2026-03-05"
    assert body["device_model"] == monitor.pk
    assert [item["original_name"] for item in body["files"]] == ["message.eml", "scan.pdf"]
    letter = Letter.objects.get()
    assert letter.counterpart == "市第一人民医院 设备科 <equipment@hospital1.example.cn>"
    assert second.status_code == 409
    assert "already filed as" in second.json()["error"]["message"]
    pdf = client.get(body["files"][1]["url"])
    assert b"".join(pdf.streaming_content) == PDF


def test_a_file_that_is_not_an_email_is_refused(api, hospital, service_agent):
    response = api.as_user(service_agent).post("/api/v1/correspondence/from-email/", {
        "file": SimpleUploadedFile("notes.eml", b"just some text\n"),
        "organization": hospital.pk,
    }, format="multipart")  # fmt: skip
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]
    assert not Letter.objects.exists()


def test_the_customer_archive_lists_its_correspondence(client, hospital, service_agent):
    other = OrganizationFactory(name="县中医院")
    LetterFactory(organization=hospital, subject="关于监护仪报警音量的函")
    LetterFactory(organization=other, subject="县中医院的来函")
    client.force_login(service_agent)

    page = client.get(f"/customers/organizations/{hospital.pk}/").content.decode()

    assert "Correspondence" in page
    assert "关于监护仪报警音量的函" in page
    assert "县中医院的来函" not in page


def test_related_records_must_be_in_scope_and_of_the_organisation(api, hospital, service_agent):
    other = OrganizationFactory(name="县中医院")
    ticket = TicketFactory(organization=other)
    client = api.as_user(service_agent)

    wrong_org = client.post("/api/v1/correspondence/",
                            letter_body(hospital, ticket=ticket.pk), format="json")  # fmt: skip
    missing = client.post("/api/v1/correspondence/",
                          letter_body(hospital, quality_case=424242), format="json")  # fmt: skip

    assert wrong_org.status_code == 400
    assert wrong_org.json()["error"]["fields"] == {
        "ticket": [f"Service request {ticket.number} is of another organisation."]
    }
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"] == {
        "quality_case": ["There is no such record in your scope (id 424242)."]
    }
    assert not Letter.objects.exists()


def test_a_customer_cannot_file_under_another_organisation(api, hospital):
    other = OrganizationFactory(name="县中医院")
    customer = user_with_role(Role.CUSTOMER_USER, hospital)
    from django.contrib.auth.models import Permission

    customer.user_permissions.add(Permission.objects.get(codename="add_letter"))
    response = api.as_user(customer).post(
        "/api/v1/correspondence/", letter_body(other), format="json"
    )
    assert response.status_code == 400
    assert "organization" in response.json()["error"]["fields"]


def test_store_staff_do_not_see_correspondence(api, hospital):
    staff = user_with_role(Role.STORE_STAFF, hospital)
    assert api.as_user(staff).get("/api/v1/correspondence/").status_code == 403


def test_the_archive_lists_in_a_fixed_number_of_queries(client, api, hospital, service_agent):
    def count(path):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    client.force_login(service_agent)
    LetterFactory.create_batch(2, organization=hospital)
    small = (count("/feedback/correspondence/"), count("/api/v1/correspondence/"))
    model = DeviceModelFactory()
    LetterFactory.create_batch(8, organization=OrganizationFactory(), device_model=model)
    large = (count("/feedback/correspondence/"), count("/api/v1/correspondence/"))

    assert small == large


def test_the_eml_page_files_a_message(client, hospital, service_agent):
    client.force_login(service_agent)
    response = client.post("/feedback/correspondence/from-email/", {
        "file": SimpleUploadedFile("message.eml", EML), "organization": hospital.pk,
    })  # fmt: skip
    letter = Letter.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/feedback/correspondence/{letter.pk}/"
    assert letter.subject == "关于 KD-M8000 报警音量的咨询"
