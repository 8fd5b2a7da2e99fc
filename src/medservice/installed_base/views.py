"""The installed base's pages beyond the generic resource views: the warranty register's
entry point and releasing a hold."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from medservice.core.errors import DomainError
from medservice.installed_base.forms import HoldReleaseForm
from medservice.installed_base.resources import devices, holds
from medservice.installed_base.selectors import holds_visible_to
from medservice.installed_base.services import hold_release


@login_required
def warranty_register(request: HttpRequest) -> HttpResponse:
    """The warranty register is the device list sorted by warranty end, from today on (the
    soonest to end first); clearing the filter shows the expired ones too."""
    query = {"sort": "warranty_ends_on", "warranty_ends_on_after": timezone.localdate().isoformat()}
    return redirect(f"{reverse('installed_base:devices-list')}?{urlencode(query)}")


@login_required
@require_POST
def hold_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("installed_base.view_hold"):
        raise Http404
    hold = get_object_or_404(holds_visible_to(request.user), pk=pk)
    form = HoldReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the hold is released."))
        return redirect("installed_base:holds-detail", pk=hold.pk)
    try:
        hold_release(actor=request.user, hold=hold, reason=form.cleaned_data["reason"])
    except PermissionDenied:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("installed_base:holds-detail", pk=hold.pk)
    messages.success(request, _("The hold is released."))
    return redirect("installed_base:holds-detail", pk=hold.pk)


hold_release_view.resource = holds


# --- QR labels ------------------------------------------------------------------------------


@login_required
def device_label(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    from medservice.installed_base.labels import device_label_qr
    from medservice.installed_base.selectors import devices_visible_to

    if kind not in ("svg", "png") or not request.user.has_perm("installed_base.view_device"):
        raise Http404
    device = get_object_or_404(devices_visible_to(request.user), pk=pk)
    content_type = "image/png" if kind == "png" else "image/svg+xml"
    response = HttpResponse(device_label_qr(device, kind=kind), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="device-{device.pk}.{kind}"'
    return response


@login_required
def device_label_sheet(request: HttpRequest) -> HttpResponse:
    """An A4 sheet of labels for the selected devices (print it from the browser)."""
    from django.shortcuts import render
    from django.utils.safestring import mark_safe

    from medservice.installed_base.labels import device_label_qr, device_label_url
    from medservice.installed_base.selectors import devices_visible_to

    if not request.user.has_perm("installed_base.view_device"):
        raise Http404
    ids = [value for value in request.GET.getlist("ids") if value.isdigit() and len(value) < 19][
        :200
    ]
    devices = (
        devices_visible_to(request.user)
        .filter(pk__in=ids)
        .select_related("device_model", "organization")
    )
    labels = [
        {
            "device": device,
            # segno's own SVG markup of the address; nothing user-typed goes into it.
            "svg": mark_safe(device_label_qr(device).decode()),  # noqa: S308
            "url": device_label_url(device),
        }
        for device in devices.order_by("organization__name", "device_model__name", "serial_number")
    ]
    return render(request, "installed_base/label_sheet.html", {"labels": labels})


device_label.resource = devices


@login_required
@require_GET
def device_options(request: HttpRequest) -> HttpResponse:
    """The visible devices matching `q` (serial, batch, asset number, UDI-PI, owner), for the
    device pickers of later apps (work orders)."""
    from medservice.core.widgets import autocomplete_response
    from medservice.installed_base.selectors import devices_matching

    if not request.user.has_perm("installed_base.view_device"):
        raise Http404
    matches = devices_matching(request.user, request.GET.get("q", ""))
    return autocomplete_response(
        matches, detail=lambda device: f"{device.organization.name} · {device.device_model}"
    )
