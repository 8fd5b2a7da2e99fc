from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.html import escape
from django.views.decorators.http import require_POST

from medservice.customers.resources import contacts
from medservice.customers.selectors import contacts_visible_to
from medservice.customers.services import PERSONAL_FIELDS, contact_unmask


@login_required
@require_POST
def contact_unmask_view(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    contact = get_object_or_404(contacts_visible_to(request.user), pk=pk)
    if field not in PERSONAL_FIELDS:
        raise Http404
    try:
        value = contact_unmask(actor=request.user, contact=contact, field=field)
    except PermissionDenied:
        raise Http404 from None
    if request.htmx:
        return HttpResponse(f'<span class="font-monospace">{escape(value)}</span>')
    return redirect("customers:contacts-detail", pk=contact.pk)


contact_unmask_view.resource = contacts
