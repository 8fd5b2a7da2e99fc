"""Tickets as a Resource: list (filters, search, export), detail page and API share the
selector; tickets change only through their workflow actions (no generic edit or delete)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.core.registry import (
    HomePanel,
    Related,
    Resource,
    home_panel_register,
    register,
    related_register,
)
from medservice.customers.selectors import user_scope
from medservice.tickets.api.serializers import TicketSerializer
from medservice.tickets.choices import Channel
from medservice.tickets.detail import TicketDetailView
from medservice.tickets.filtersets import TicketFilter
from medservice.tickets.forms import TicketForm
from medservice.tickets.models import Ticket
from medservice.tickets.selectors import (
    contact_log_of,
    desk_home,
    tickets_of_device,
    tickets_of_organization,
    tickets_visible_to,
)
from medservice.tickets.services import ticket_register


def _register(*, actor: Any, model: type[Ticket], data: dict[str, Any]) -> Ticket:
    quality = data.pop("quality_intake", None)
    if user_scope(actor) == "customer":
        # A customer's request arrives through the portal, now: it cannot claim another
        # channel or an earlier receipt (the promises count from the receipt).
        data["channel"] = Channel.PORTAL
        data["received_at"] = timezone.now()
    return ticket_register(actor=actor, data=data, quality=quality)


tickets = register(
    Resource(
        name="tickets",
        model=Ticket,
        selector=tickets_visible_to,
        namespace="tickets",
        list_columns=[
            "number",
            "kind",
            "status",
            "priority",
            "organization",
            "subject",
            "owner",
            "received_at",
            "next_due_at",
        ],
        detail_fields=[
            "number",
            "kind",
            "channel",
            "status",
            "priority",
            "organization",
            "contact",
            "reporter_name",
            "device",
            "device_model",
            "product_reported",
            "serial_reported",
            "subject",
            "description",
            "patient_involved",
            "injury",
            "received_at",
            "received_by",
            "owner",
            "team",
            "sla_tier",
            "first_response_due_at",
            "plan_due_at",
            "resolution_due_at",
            "onsite_due_at",
            "solution",
            "resolution_type",
            "resolution",
            "resolved_at",
            "confirmed_at",
            "confirmed_by_name",
            "confirmation_method",
            "closed_at",
            "rating",
            "rating_comment",
        ],
        export_fields=[
            "number",
            "kind",
            "channel",
            "status",
            "priority",
            "organization",
            "subject",
            "owner",
            "received_at",
            "first_response_due_at",
            "plan_due_at",
            "resolution_due_at",
            "resolved_at",
            "closed_at",
            "rating",
        ],
        form_class=TicketForm,
        filterset_class=TicketFilter,
        serializer_class=TicketSerializer,
        search_fields=["number", "subject", "serial_reported", "product_reported"],
        ordering_fields=["received_at", "next_due_at", "number", "priority", "status"],
        default_ordering=["-received_at", "-id"],
        select_related=["organization", "owner"],
        create=_register,
        update=None,
        delete=None,
        detail_view=TicketDetailView,
        # The service desk's pages (register_views.py): the "New" button opens the
        # register-a-call form; the list shows badges and service-promise countdowns.
        create_url_name="tickets:register-call",
        list_rows_template="tickets/ticket_list_rows.html",
    )
)


# --- the service desk: tabs on the organisation and device pages, the agent's landing --------
related_register(
    "organizations",
    Related(
        _("Service requests"),
        tickets_of_organization,
        ["number", "kind", "status", "priority", "subject", "owner", "received_at"],
        "tickets:tickets-detail",
    ),
)
related_register(
    "organizations",
    Related(
        _("Contact log"),
        contact_log_of,
        ["created_at", "kind", "ticket", "actor_label", "text"],
        limit=20,
        more_url_name="tickets:organization-contact-log",
    ),
)
related_register(
    "devices",
    Related(
        _("Service requests"),
        tickets_of_device,
        ["number", "kind", "status", "priority", "subject", "organization", "received_at"],
        "tickets:tickets-detail",
    ),
)
home_panel_register(
    HomePanel(
        name="tickets-desk",
        template="tickets/home_panel.html",
        context=lambda request: desk_home(request.user),
        permission="tickets.work_ticket",
        order=10,
    )
)
