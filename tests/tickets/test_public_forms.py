"""Public fault reports without signing in: the page a device's QR label opens, and the general
web form. Throttled per address, a honeypot for bots, CSRF kept, photos checked by content."""

from __future__ import annotations

import base64
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from medservice.installed_base.labels import device_label_token
from medservice.tickets.choices import Channel, TicketKind, TimelineKind
from medservice.tickets.models import QualityIntake, Ticket
from tests.installed_base.factories import DeviceFactory

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDSERVICE_SERVICE_PHONE = "400-820-1234"


@pytest.fixture
def unit(hospital_a):
    return DeviceFactory(organization=hospital_a, serial_number="KM8-2303-00101")


def photo(name: str = "screen.png", content: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def filled(**overrides):
    return {
        "name": "钱丽华",
        "phone": "139 1662 4875",
        "email": "",
        "description": "监护仪开机后黑屏。\n重启无效。",
        "homepage": "",
        **overrides,
    }


@pytest.mark.django_db
def test_the_qr_page_shows_the_unit_and_its_report_creates_a_request_for_it(
    client, unit, hospital_a, clock
):
    address = f"/r/{device_label_token(unit)}/"
    page = client.get(address)
    assert page.status_code == 200
    text = page.content.decode()
    assert "KM8-2303-00101" in text and 'href="tel:400-820-1234"' in text
    assert 'name="csrfmiddlewaretoken"' in text and 'name="description"' in text
    assert 'name="serial"' not in text  # the unit is known

    response = client.post(address, filled(photos=[photo()]))

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/report/done/{ticket.public_token}/"
    assert (ticket.channel, ticket.kind, ticket.device, ticket.organization) == (
        Channel.QR,
        TicketKind.REPAIR,
        unit,
        hospital_a,  # the unit's owner
    )
    assert (ticket.reporter_name, ticket.reporter_phone) == ("钱丽华", "139 1662 4875")
    assert (ticket.serial_reported, ticket.subject) == ("KM8-2303-00101", "监护仪开机后黑屏。")
    assert ticket.received_by is None
    attachment = ticket.timeline.get(kind=TimelineKind.ATTACHMENT)
    assert (attachment.attachment_type, attachment.customer_visible) == ("image/png", True)

    done = client.get(response["Location"]).content.decode()
    assert ticket.number in done
    first_response = ticket.first_response_due_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert first_response.strftime("%Y-%m-%d %H:%M") in done
    assert "钱丽华" not in done and "1662" not in done  # nothing personal


@pytest.mark.django_db
def test_the_same_form_answers_at_report_device(client, unit):
    page = client.get(f"/report/device/{device_label_token(unit)}/")
    assert page.status_code == 200 and "KM8-2303-00101" in page.content.decode()


@pytest.mark.django_db
def test_the_general_form_creates_a_web_form_request(client, clock, quality_staff):
    assert client.get("/report/").status_code == 200

    response = client.post(
        "/report/",
        filled(
            serial="SP3-2211-0042",
            product="输液泵 SP-300",
            email="qian@example.cn",
            injury="on",
            photos=[photo("a.png"), photo("b.png")],
        ),
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.device, ticket.organization) == (Channel.WEB_FORM, None, None)
    assert (ticket.serial_reported, ticket.product_reported, ticket.reporter_email) == (
        "SP3-2211-0042",
        "输液泵 SP-300",
        "qian@example.cn",
    )
    assert ticket.timeline.filter(kind=TimelineKind.ATTACHMENT).count() == 2
    # Someone was hurt: the quality procedure's intake record exists and quality staff know.
    assert ticket.injury and QualityIntake.objects.filter(ticket=ticket).exists()
    assert quality_staff.notifications.exists()


@pytest.mark.django_db
def test_the_general_form_asks_for_a_serial_or_a_product_and_a_valid_phone(client):
    response = client.post("/report/", filled(phone="12345"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "Give the serial number or the product name." in text
    assert "12345 is not a valid phone number" in text
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_a_file_that_is_not_a_photo_is_refused_with_the_reason(client, unit):
    response = client.post(
        f"/r/{device_label_token(unit)}/",
        filled(photos=[SimpleUploadedFile("report.png", b"plain text pretending", "image/png")]),
    )
    assert response.status_code == 400
    assert "report.png is not a photo, video or PDF" in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_too_many_files_are_refused(client, unit, settings):
    settings.MEDSERVICE_PUBLIC_REPORT_MAX_FILES = 2
    response = client.post(
        f"/r/{device_label_token(unit)}/", filled(photos=[photo(), photo(), photo()])
    )
    assert response.status_code == 400
    assert "Send at most 2 files." in response.content.decode()


@pytest.mark.django_db
def test_the_honeypot_pretends_success_and_creates_nothing(client, unit):
    response = client.post(
        f"/r/{device_label_token(unit)}/", filled(homepage="http://cheap-pills.example")
    )
    assert response.status_code == 200
    assert "Thank you, we have received your report." in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_reports_are_throttled_per_address(client, unit, clock):
    address = f"/r/{device_label_token(unit)}/"
    for _ in range(5):  # five reports an hour from one address (bots included)
        assert client.post(address, filled(homepage="x")).status_code == 200

    response = client.post(address, filled())

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many reports were sent from this address." in text and "400-820-1234" in text
    assert "钱丽华" in text  # what was typed is kept
    assert client.post("/report/", filled(product="输液泵")).status_code == 429
    assert not Ticket.objects.exists()
    # Another address is not affected; an hour later this one may report again.
    assert client.post(address, filled(), REMOTE_ADDR="10.1.2.3").status_code == 302
    clock.tick(3600)
    assert client.post(address, filled()).status_code == 302
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_the_forms_keep_csrf_protection(unit):
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    address = f"/r/{device_label_token(unit)}/"
    assert strict.post(address, filled()).status_code == 403
    strict.get(address)
    token = strict.cookies["csrftoken"].value
    assert strict.post(address, filled(csrfmiddlewaretoken=token)).status_code == 302


@pytest.mark.django_db
def test_an_unknown_token_answers_404(client, unit):
    number, _, check = device_label_token(unit).partition("-")
    forged = f"{number}-{'0' * len(check)}"
    assert client.get(f"/r/{forged}/").status_code == 404
    assert client.post(f"/r/{forged}/", filled()).status_code == 404
    assert client.get("/report/device/not-a-token/").status_code == 404
    assert client.get("/report/done/no-such-token/").status_code == 404
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_the_pages_are_translated(client, unit):
    page = client.get(f"/r/{device_label_token(unit)}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "故障报修" in page.content.decode()
