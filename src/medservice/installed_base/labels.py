"""QR labels for devices. Each label encodes the public fault-report address of its unit,
/r/<token>/, where the token is the device id with a keyed check, so nobody can walk the
installed base by counting ids. The report form behind it comes with the tickets issue."""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from medservice.installed_base.models import Device

SALT = "medservice.installed_base.device-label"


def _check(pk: int) -> str:
    return salted_hmac(SALT, str(pk), secret=settings.SECRET_KEY).hexdigest()[:12]


def device_label_token(device: Device) -> str:
    return f"{device.pk}-{_check(device.pk)}"


def device_from_label_token(token: str) -> Device | None:
    number, _, check = (token or "").partition("-")
    if (
        not number.isdigit()
        or len(number) > 18
        or not constant_time_compare(check, _check(int(number)))
    ):
        return None
    return (
        Device.objects.select_related("device_model", "organization").filter(pk=int(number)).first()
    )


def device_label_url(device: Device, *, base_url: str = "") -> str:
    path = reverse("device-report", kwargs={"token": device_label_token(device)})
    return f"{(base_url or settings.MEDSERVICE_PUBLIC_URL).rstrip('/')}{path}"


def device_label_qr(device: Device, *, kind: str = "svg", base_url: str = "") -> bytes:
    code = segno.make(device_label_url(device, base_url=base_url), error="m")
    buffer = io.BytesIO()
    if kind == "png":
        code.save(buffer, kind="png", scale=8, border=2)
    else:
        code.save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True)
    return buffer.getvalue()
