"""Public fault-report pages (no sign-in): the page a device's QR label opens (/r/<token>/, also
/report/device/<token>/) with the unit's facts and a report form for it, and a general report
form (/report/). Both are throttled per client address, carry a honeypot field (a bot fills it:
it is told "thank you" and nothing is created), keep CSRF, check photos by content and size,
and end on a page with the request number and the promised times — nothing personal.

Mounted at /report/ (namespace "public") by config/urls.py, which also routes /r/<token>/ here.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from medservice.core.context import audit_context
from medservice.core.errors import DomainError
from medservice.core.middleware import client_address
from medservice.customers.validators import validate_phone
from medservice.tickets.choices import Channel, TicketKind
from medservice.tickets.models import Ticket

logger = logging.getLogger(__name__)

JOB = "tickets.public-report"
HONEYPOT = "homepage"
THROTTLE_SCOPE = "public-report"
PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


# --- throttle -------------------------------------------------------------------------------------


def _rate() -> tuple[int, int]:
    """Reports allowed per period and client address (MEDSERVICE_PUBLIC_REPORT_RATE, "5/hour")."""
    count, _sep, period = str(
        getattr(settings, "MEDSERVICE_PUBLIC_REPORT_RATE", "5/hour")
    ).partition("/")
    return int(count), PERIODS.get(period.strip(), 3600)


def report_throttled(request: HttpRequest) -> bool:
    """Count one submission from the client's address; True when it is over the limit. A fixed
    window on the shared cache, like the sign-in limit (accounts.ratelimit)."""
    allowed, seconds = _rate()
    window = int(time.time() // seconds)
    key = f"ratelimit:{THROTTLE_SCOPE}:{client_address(request)}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=seconds + 1)
        count = 1
    return count > allowed


# --- the form -------------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/*,video/*,application/pdf"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def max_photos() -> int:
    return int(getattr(settings, "MEDSERVICE_PUBLIC_REPORT_MAX_FILES", 5))


class PublicReportForm(forms.Form):
    """What a customer types without signing in. With a device (the QR page) the unit is known,
    so no serial or product is asked."""

    name = forms.CharField(label=gettext_lazy("Your name"), max_length=100)
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=40,
        validators=[validate_phone],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(label=gettext_lazy("E-mail (optional)"), required=False)
    serial = forms.CharField(
        label=gettext_lazy("Serial number"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("On the device's nameplate (SN)."),
    )
    product = forms.CharField(
        label=gettext_lazy("Product"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Product name and model, if you do not know the serial number."),
    )
    description = forms.CharField(
        label=gettext_lazy("What is wrong?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    injury = forms.BooleanField(
        label=gettext_lazy("A patient or user was hurt while the device was in use"),
        required=False,
    )
    photos = MultipleFileField(label=gettext_lazy("Photos"), required=False)
    # The honeypot: hidden from people, filled by bots.
    homepage = forms.CharField(required=False, label=gettext_lazy("Leave this field empty"))

    def __init__(self, *args: Any, device: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device
        if device is not None:
            del self.fields["serial"]
            del self.fields["product"]
        self.fields["photos"].help_text = _(
            "Up to %(count)s photos, videos or PDFs, each up to %(size)s MB."
        ) % {"count": max_photos(), "size": _max_mb()}
        self.fields[HONEYPOT].widget.attrs.update({"autocomplete": "off", "tabindex": "-1"})
        for name, item in self.fields.items():
            widget = item.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif name != HONEYPOT:
                widget.attrs.setdefault("class", "form-control")

    @property
    def visible_fields_list(self) -> list[Any]:
        return [self[name] for name in self.fields if name not in (HONEYPOT, "injury")]

    def clean_photos(self) -> list[Any]:
        from medservice.core.attachments import attachment_check

        photos = self.cleaned_data.get("photos") or []
        if len(photos) > max_photos():
            raise ValidationError(
                _("Send at most %(count)s files.") % {"count": max_photos()}, code="too_many"
            )
        problems = []
        for upload in photos:
            try:
                attachment_check(upload, field="photos")
            except DomainError as error:
                problems.append(ValidationError(error.message, code="file"))
        if problems:
            raise ValidationError(problems)
        return photos

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.device is None and not (
            (data.get("serial") or "").strip() or (data.get("product") or "").strip()
        ):
            self.add_error("serial", _("Give the serial number or the product name."))
        return data


def _max_mb() -> int:
    from medservice.core.attachments import attachment_max_bytes

    return attachment_max_bytes() // 1024 // 1024


# --- the views ------------------------------------------------------------------------------------


def _page(
    request: HttpRequest, form: PublicReportForm, *, device: Any, status: int = 200, error: str = ""
) -> HttpResponse:
    return render(
        request,
        "tickets/public/report_form.html",
        {
            "form": form,
            "device": device,
            "error": error,
            "honeypot": form[HONEYPOT],
            "service_phone": settings.MEDSERVICE_SERVICE_PHONE,
        },
        status=status,
    )


def _report(request: HttpRequest, *, device: Any) -> HttpResponse:
    if request.method != "POST":
        return _page(request, PublicReportForm(device=device), device=device)
    if report_throttled(request):
        kept = {
            key: value
            for key, value in request.POST.items()
            if key in ("name", "phone", "email", "serial", "product", "description")
        }
        return _page(
            request,
            PublicReportForm(initial=kept, device=device),
            device=device,
            status=429,
            error=_(
                "Too many reports were sent from this address. Please try again later, "
                "or call our service hotline %(phone)s."
            )
            % {"phone": settings.MEDSERVICE_SERVICE_PHONE},
        )
    if (request.POST.get(HONEYPOT) or "").strip():
        logger.info("public report with the honeypot filled; nothing created")
        return render(request, "tickets/public/done.html", {"ticket": None})
    form = PublicReportForm(request.POST, request.FILES, device=device)
    if not form.is_valid():
        return _page(request, form, device=device, status=400)
    data = form.cleaned_data
    description = data["description"].strip()
    injured = bool(data.get("injury"))
    ticket_data = {
        "kind": TicketKind.REPAIR,
        "channel": Channel.QR if device is not None else Channel.WEB_FORM,
        "device": device,
        "reporter_name": data["name"].strip(),
        "reporter_phone": data["phone"].strip(),
        "reporter_email": data.get("email") or "",
        "serial_reported": (data.get("serial") or "").strip()
        if device is None
        else device.serial_number or device.batch_number,
        "product_reported": (data.get("product") or "").strip()
        if device is None
        else str(device.device_model),
        "subject": (description.splitlines() or [""])[0][:80],
        "description": description,
        "patient_involved": injured,
        "injury": injured,
    }
    from medservice.tickets.services import ticket_register

    try:
        with audit_context(job=JOB):
            ticket = ticket_register(
                actor=None,
                data=ticket_data,
                # The reporter says it happened in use: the quality intake records that much.
                quality={"device_used": True} if injured else None,
                attachments=data["photos"],
            )
    except DomainError as error:
        form.add_error(None, error.message)
        return _page(request, form, device=device, status=400)
    return redirect("public:done", token=ticket.public_token)


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """The general public fault-report form."""
    return _report(request, device=None)


report.scoping_exempt = "public by design: a form that only creates a request"  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
def device_report(request: HttpRequest, token: str) -> HttpResponse:
    """What a device's QR label opens: which unit this is, the hotline, and a report form for
    it (the request is linked to the unit and its owner)."""
    from medservice.installed_base.labels import device_from_label_token

    device = device_from_label_token(token)
    if device is None:
        raise Http404
    return _report(request, device=device)


device_report.scoping_exempt = (  # type: ignore[attr-defined]
    "public by design: the keyed token on the label is the access"
)


def report_done(request: HttpRequest, token: str) -> HttpResponse:
    """The number and the promised times of a request just reported; nothing personal."""
    ticket = (
        Ticket.objects.filter(public_token=token)
        .only(
            "number",
            "received_at",
            "first_response_due_at",
            "plan_due_at",
            "resolution_due_at",
            "public_token",
        )
        .first()
        if token
        else None
    )
    if ticket is None:
        raise Http404
    return render(request, "tickets/public/done.html", {"ticket": ticket})


report_done.scoping_exempt = (  # type: ignore[attr-defined]
    "public by design: the request's random public token is the access; shows no personal data"
)


urlpatterns = [
    path("", report, name="report"),
    path("device/<str:token>/", device_report, name="device"),
    path("done/<str:token>/", report_done, name="done"),
]
