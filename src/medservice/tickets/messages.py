"""Progress messages to the customer, in the customer's language: acknowledgement (with the
number and the promised times), assignment, solution proposed, delay, resolution, reminder to
confirm and automatic closure."""

from __future__ import annotations

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from medservice.tickets.models import Ticket


def _when(moment) -> str:  # type: ignore[no-untyped-def]
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def customer_language(ticket: Ticket) -> str:
    language = ticket.contact.language if ticket.contact_id else ""
    return language or "zh-hans"


def message_subject(ticket: Ticket) -> str:
    with translation.override(customer_language(ticket)):
        return _("[%(number)s] Your service request") % {"number": ticket.number}


def message_text(ticket: Ticket, *, event: str, extra: str = "") -> str:
    with translation.override(customer_language(ticket)):
        number = ticket.number
        if event == "registered":
            return _(
                "We have received your request %(number)s. We will reply by %(reply)s, propose "
                "a solution by %(plan)s and aim to resolve it by %(resolve)s."
            ) % {
                "number": number,
                "reply": _when(ticket.first_response_due_at),
                "plan": _when(ticket.plan_due_at),
                "resolve": _when(ticket.resolution_due_at),
            }
        if event == "acknowledged":
            return _("Request %(number)s is being handled; we will keep you informed.") % {
                "number": number
            }
        if event == "assigned":
            owner = ticket.owner.get_full_name() if ticket.owner_id else ""
            return _("Request %(number)s is now handled by %(owner)s.") % {
                "number": number,
                "owner": owner or (str(ticket.team) if ticket.team_id else _("our service team")),
            }
        if event == "solution_proposed":
            return _("For request %(number)s we propose: %(solution)s") % {
                "number": number,
                "solution": extra,
            }
        if event == "delay":
            return _(
                "Request %(number)s: we may not meet the promised time (%(target)s by "
                "%(due)s). We are on it and will tell you the new time."
            ) % {"number": number, "target": extra, "due": _when(ticket.next_due_at)}
        if event == "resolved":
            return _(
                "Request %(number)s is resolved: %(resolution)s Please confirm the result or "
                "tell us what is still wrong."
            ) % {"number": number, "resolution": extra}
        if event == "confirm_reminder":
            return _(
                "Request %(number)s was resolved; please confirm the result or tell us what is "
                "still wrong."
            ) % {"number": number}
        if event == "auto_closed":
            return _(
                "Request %(number)s was closed because we did not hear back. If the problem "
                "is not solved, reply and we will reopen it."
            ) % {"number": number}
        return _("Update on request %(number)s.") % {"number": number}
