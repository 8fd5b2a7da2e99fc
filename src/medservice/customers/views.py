from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_POST

from medservice.core.errors import DomainError
from medservice.core.widgets import autocomplete_response
from medservice.customers.resources import contacts
from medservice.customers.selectors import (
    contacts_visible_to,
    departments_matching,
    departments_visible_to,
    organizations_matching,
)
from medservice.customers.services import PERSONAL_FIELDS, contact_invite, contact_unmask


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
    # Without JavaScript the page reloads: the value shown once, as a message on it.
    label = contact._meta.get_field(field).verbose_name
    messages.info(request, f"{label}: {value}")
    return redirect("customers:contacts-detail", pk=contact.pk)


contact_unmask_view.resource = contacts


class InviteForm(forms.Form):
    consent_text = forms.CharField(
        label=_l("What the person agreed to"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        initial=_l(
            "I agree that the company processes my name, phone numbers and e-mail to provide "
            "after-sales service for our devices, as described in its privacy notice."
        ),
    )
    consent_given = forms.BooleanField(
        label=_l("The person has given this consent (signed form or recorded call)"),
        required=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


@login_required
def contact_invite_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite a contact to the customer portal, recording their consent (PIPL)."""
    # Inviting creates an account (等保: the security administrator's job); seeing the contact
    # is enough besides, the consent is recorded as part of the invitation.
    if not request.user.has_perm("accounts.add_user"):
        raise Http404
    contact = get_object_or_404(contacts_visible_to(request.user), pk=pk)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_invite(
                actor=request.user,
                contact=contact,
                consent_text=form.cleaned_data["consent_text"],
                consent_given=form.cleaned_data["consent_given"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("%(contact)s is invited to the portal.") % {"contact": contact}
            )
            return redirect("customers:contacts-detail", pk=contact.pk)
    return render(
        request,
        "customers/contact_invite.html",
        {"form": form, "object": contact},
        status=400 if form.errors else 200,
    )


contact_invite_view.resource = contacts


# --- Choices for the autocomplete (core.widgets.AutocompleteSelect) --------------------------


def _may_pick_organizations(user: Any) -> bool:
    # Every role that fills a form naming a customer may view organisations; departments are
    # picked inside an organisation the user may see (warehouse staff registering a unit pick
    # one without listing departments), so both searches ask for the same permission.
    return user.has_perm("customers.view_organization")


@login_required
@require_GET
def organization_options(request: HttpRequest) -> HttpResponse:
    """The visible organisations matching `q` (name or credit code), at most a page of them."""
    if not _may_pick_organizations(request.user):
        raise Http404
    matches = organizations_matching(request.user, request.GET.get("q", ""))
    return autocomplete_response(
        matches,
        detail=lambda organization: " · ".join(
            part for part in (organization.city, organization.credit_code) if part
        ),
    )


@login_required
@require_GET
def department_options(request: HttpRequest) -> HttpResponse:
    """The visible departments matching `q`, within `organization` when it is given."""
    if not _may_pick_organizations(request.user):
        raise Http404
    organization = request.GET.get("organization", "").strip()
    organization_id = None
    if organization:
        # Only an id the database can hold: a foreign-key lookup does not guard against overflow.
        if not (organization.isascii() and organization.isdigit()) or len(organization) > 18:
            return autocomplete_response(departments_visible_to(request.user).none())
        organization_id = int(organization)
    matches = departments_matching(
        request.user, request.GET.get("q", ""), organization_id=organization_id
    )
    return autocomplete_response(matches, detail=lambda department: department.organization.name)
