"""Uploads are checked by their content, size and name wherever they enter (evidence files,
calibration certificates, imports), and files served back are downloaded, not rendered, unless
they are images or PDFs; they are never sniffed and carry a content policy of their own."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse, HttpResponse
from django.test import RequestFactory, override_settings

from medservice.accounts.choices import Role
from medservice.core.attachments import attachment_check, safe_filename, spreadsheet_check
from medservice.core.errors import InvalidInputError
from medservice.core.middleware import FileResponseSecurityMiddleware
from medservice.inventory.instruments import instrument_calibration_record
from medservice.inventory.models import InstrumentCalibration
from tests.factories import user_with_role
from tests.inventory.factories import InstrumentFactory

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\li\\现场照片.jpg", "现场照片.jpg"),
        ("report\x00.pdf.exe", "report.pdf.exe"),
        ("photo\r\nSet-Cookie: x=1.png", "photoSet-Cookie x=1.png"),
        ("\u202egnp.exe", "gnp.exe"),
        (".htaccess", "htaccess"),
        ("...", "file"),
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
    ],
)
def test_an_uploaded_name_is_kept_only_as_a_plain_file_name(sent, kept):
    assert safe_filename(sent) == kept


def test_the_check_makes_the_upload_name_safe_in_place():
    upload = SimpleUploadedFile("../../static/evil\x07.png", PNG, content_type="image/png")

    assert attachment_check(upload) == "image/png"
    assert upload.name == "evil.png"


@pytest.mark.parametrize(
    ("name", "content", "found"),
    [("photo.jpg", HTML, "unknown content"), ("drawing.svg", SVG, "unknown content")],
)
def test_html_or_svg_is_refused_whatever_its_name_or_declared_type(name, content, found):
    upload = SimpleUploadedFile(name, content, content_type="image/jpeg")

    with pytest.raises(InvalidInputError) as refused:
        attachment_check(upload, field="photos")

    assert refused.value.fields == {
        "photos": [
            f"{name} is not a photo, video or PDF (found: {found}); those are the files "
            "accepted as evidence."
        ]
    }


@override_settings(MEDSERVICE_ATTACHMENT_MAX_MB=1)
def test_a_file_over_the_size_limit_is_refused():
    upload = SimpleUploadedFile("big.png", PNG + b"\x00" * (1024 * 1024), content_type="image/png")

    with pytest.raises(InvalidInputError) as refused:
        attachment_check(upload)

    assert refused.value.message == "big.png is 1.0 MB; files up to 1 MB are accepted."


@pytest.mark.django_db
def test_a_calibration_certificate_is_checked_like_any_upload(company):
    # given an instrument and the warehouse keeper recording its calibration
    instrument = InstrumentFactory()
    keeper = user_with_role(Role.WAREHOUSE_KEEPER, company)
    certificate = SimpleUploadedFile("certificate.pdf", HTML, content_type="application/pdf")

    # when the "certificate" is an HTML page
    with pytest.raises(InvalidInputError) as refused:
        instrument_calibration_record(
            actor=keeper,
            instrument=instrument,
            calibrated_on=datetime.date(2026, 11, 1),
            valid_until=datetime.date(2027, 11, 1),
            performed_by="江苏省计量院",
            certificate=certificate,
        )

    # then it is refused and nothing is recorded
    assert list(refused.value.fields) == ["certificate"]
    assert InstrumentCalibration.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "accepted"),
    [
        ("devices.csv", "序列号,型号\nSN-1,输液泵\n".encode(), True),
        ("devices.csv", PNG, False),
        ("devices.csv", b"name\x00\x01\x02", False),
        ("devices.xlsx", b"PK\x03\x04" + b"\x00" * 100, True),
        ("devices.xlsx", HTML, False),
    ],
)
def test_an_import_file_must_be_what_its_name_says(name, content, accepted):
    upload = SimpleUploadedFile(name, content)

    if accepted:
        spreadsheet_check(upload)
        assert upload.read() == content  # the check leaves the file to be read from the start
    else:
        with pytest.raises(InvalidInputError) as refused:
            spreadsheet_check(upload)
        assert refused.value.message.startswith(f"{name} is not an XLSX or CSV file by its content")


@pytest.mark.django_db
def test_the_import_page_refuses_a_picture_named_csv(client, administrator):
    client.force_login(administrator)

    response = client.post(
        "/imports/new/organizations/", {"file": SimpleUploadedFile("orgs.csv", PNG)}
    )

    assert response.status_code == 400
    assert "orgs.csv is not an XLSX or CSV file by its content (found: image/png)." in (
        response.content.decode()
    )


def served(response: HttpResponse, path: str = "/api/v1/tickets/1/attachments/2/") -> HttpResponse:
    return FileResponseSecurityMiddleware(lambda request: response)(RequestFactory().get(path))


def file_response(content: bytes, content_type: str, **options: object) -> FileResponse:
    return FileResponse(io.BytesIO(content), content_type=content_type, **options)


def test_an_html_file_is_served_as_a_download_in_a_sandbox():
    response = served(file_response(HTML, "text/html", filename="page.html"))

    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self' data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
    )


def test_an_svg_is_not_shown_inline():
    response = served(file_response(SVG, "image/svg+xml", filename="logo.svg"))

    assert response["Content-Disposition"] == 'attachment; filename="logo.svg"'


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "application/pdf"])
def test_images_and_pdfs_may_be_shown_inline(content_type):
    response = served(file_response(PNG, content_type, filename="scan"))

    assert response["Content-Disposition"] == 'inline; filename="scan"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].endswith(
        "form-action 'none'" if content_type == "application/pdf" else "; sandbox"
    )


def test_anything_under_the_media_url_gets_the_same_treatment():
    response = served(HttpResponse(HTML, content_type="text/html"), path="/media/tickets/x.html")

    assert response["Content-Disposition"] == "attachment"
    assert response["Content-Security-Policy"].endswith("; sandbox")


def test_an_ordinary_page_keeps_the_site_policy():
    response = served(HttpResponse(b"<p>ok</p>", content_type="text/html"), path="/tickets/")

    assert "Content-Disposition" not in response
    assert "Content-Security-Policy" not in response


@pytest.mark.django_db
def test_a_downloaded_ticket_file_carries_the_file_headers_end_to_end(api, agent, company):
    from tests.tickets.factories import TicketFactory

    # given a ticket with a PNG attached by the agent
    ticket = TicketFactory(organization=company)
    client = api.as_user(agent)
    posted = client.post(
        f"/api/v1/tickets/{ticket.pk}/comments/",
        {
            "text": "现场照片",
            "file": SimpleUploadedFile("../现场.png", PNG, content_type="image/png"),
        },
        format="multipart",
    )
    assert posted.status_code == 201, posted.content

    # when it is downloaded
    response = client.get(f"/api/v1/tickets/{ticket.pk}/attachments/{posted.json()['id']}/")

    # then it is a download named safely, never sniffed, under the file policy
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E7%8E%B0%E5%9C%BA.png"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].endswith("; sandbox")


@pytest.mark.django_db
def test_a_supplier_licence_scan_is_checked_like_any_upload(api, company):
    from tests.catalog.factories import SupplierFactory

    # given quality staff filing a supplier's licence through the API
    supplier = SupplierFactory()
    client = api.as_user(user_with_role(Role.QUALITY_STAFF, company))

    # when the "scan" is an HTML page
    response = client.post(
        "/api/v1/supplier-licences/",
        {
            "supplier": supplier.pk,
            "kind": "operation_permit",
            "number": "沪药监械经营许20210001号",
            "file": SimpleUploadedFile("licence.pdf", HTML, content_type="application/pdf"),
        },
        format="multipart",
    )

    # then it is refused, naming the field
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["file"]
