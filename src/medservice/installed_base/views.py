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
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.installed_base.forms import HoldReleaseForm
from medservice.installed_base.resources import holds
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
