"""E-mail intake: each message to the service mailbox becomes a service request, or an entry on
the request it answers. Read from a raw RFC 822 message (`medservice ingest-email FILE`) or from
an IMAP mailbox by a periodic job (`imap_poll`).

Rules, in order:
1. The same Message-ID is taken once (a message without one is known by a hash of its bytes).
2. Auto-replies, bounces, bulk and list mail, and our own outgoing messages are not turned into
   requests; the log says why.
3. A reply threads onto its request when In-Reply-To/References name the Message-ID of the
   message that opened it or of one received on it, or when the subject carries its number in
   brackets ([TS-2026-000123]). It becomes a customer-visible e-mail entry and ends a wait for
   the customer. A subject number alone is easy to type: from a sender the request does not
   know (not its reporter, its contact or a contact of its organisation) the entry stays
   internal and ends no wait, so a stranger cannot write into someone else's request.
4. Otherwise a new request (channel e-mail): kind "complaint" when the subject or text speaks of
   a complaint (投诉 ...), "repair" when it reports a fault (报修, 故障 ...), otherwise "question";
   the agent corrects the kind while screening. The reporter is the sender; the contact (and so
   the organisation) is the contact with that address when exactly one has it. Received at is
   the message's Date when sane (not in the future, at most 30 days old), else now.
Attachments are checked by content (core.attachments); a refused one is written in the
timeline with the reason and does not stop the message.
"""

from __future__ import annotations

import datetime
import email
import email.header
import email.policy
import email.utils
import hashlib
import html
import imaplib
import logging
import re
import ssl
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import DomainError
from medservice.core.notifications import notify
from medservice.tickets.choices import NUMBER_PREFIX, Channel, Status, TicketKind, TimelineKind
from medservice.tickets.models import Ticket, TimelineEntry

logger = logging.getLogger(__name__)

JOB = "tickets.email-intake"
DATE_MAX_AGE = datetime.timedelta(days=30)
DESCRIPTION_MAX_CHARS = 20000
PREFIXES = "|".join(sorted(set(NUMBER_PREFIX.values())))
NUMBER_IN_SUBJECT = re.compile(rf"\[\s*((?:{PREFIXES})-\d{{4}}-\d{{4,}})\s*\]", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Chinese mail often declares gb2312 but uses characters only GBK/GB18030 has.
GB_CHARSETS = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "euc-cn", "cp936"}
BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
DAEMON_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[\s_-]*(reply|response)|out of (the )?office|自动回复|自動回覆|自动答复)",
    re.IGNORECASE,
)
COMPLAINT_WORDS = ("投诉", "不满", "complaint", "complain")
REPAIR_WORDS = (
    "报修",
    "维修",
    "故障",
    "损坏",
    "坏了",
    "黑屏",
    "报警",
    "不工作",
    "无法开机",
    "repair",
    "broken",
    "fault",
    "not working",
    "does not work",
    "doesn't work",
    "error",
    "alarm",
)
QUOTE_MARKERS = (
    re.compile(
        r"^-{2,}\s*(original message|原始邮件|原始郵件|回复的原邮件)\s*-{2,}", re.IGNORECASE
    ),
    re.compile(r"^on .{4,200} wrote:\s*$", re.IGNORECASE),
    re.compile(r"^在\s*.{2,200}写道[:：]\s*$"),
    re.compile(r"^_{8,}\s*$"),
)


@dataclass
class Attachment:
    name: str
    content: bytes
    declared_type: str


@dataclass
class ParsedMessage:
    message_id: str
    sender_email: str
    sender_name: str
    subject: str
    text: str
    date: datetime.datetime | None
    references: list[str]
    attachments: list[Attachment]
    auto_reason: str = ""


@dataclass
class IntakeResult:
    """What became of one message: created, threaded, duplicate, ignored or rejected."""

    outcome: str
    message_id: str
    ticket: Ticket | None = None
    reason: str = ""
    refused_attachments: list[str] = field(default_factory=list)


# --- parsing --------------------------------------------------------------------------------------


def _decode(payload: bytes, charset: str | None) -> str:
    charset = (charset or "").strip().lower()
    if charset in GB_CHARSETS:
        charset = "gb18030"
    if not charset:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("gb18030", errors="replace")
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


class _TextFromHtml(HTMLParser):
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    )
    SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextFromHtml()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # malformed markup: fall back to dropping the tags
        text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    text = _decode(payload, part.get_content_charset())
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return text.replace("\r\n", "\n").strip()


def _walk(part: Message) -> list[Message]:
    """Leaf parts in order; a forwarded message (message/rfc822) counts as one leaf."""
    if part.get_content_maintype() == "multipart":
        leaves = []
        for child in part.get_payload():
            leaves.extend(_walk(child))
        return leaves
    return [part]


def _body_and_attachments(message: EmailMessage) -> tuple[str, list[Attachment]]:
    body_part = None
    try:
        body_part = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # a broken structure: treat the leaves below
        body_part = None
    leaves = _walk(message)
    if body_part is None:
        body_part = next(
            (
                leaf
                for leaf in leaves
                if leaf.get_content_type() in ("text/plain", "text/html")
                and leaf.get_content_disposition() != "attachment"
            ),
            None,
        )
    text = _part_text(body_part) if body_part is not None else ""
    attachments = []
    for number, leaf in enumerate(leaves, start=1):
        if leaf is body_part:
            continue
        filename = leaf.get_filename()
        disposition = leaf.get_content_disposition()
        if leaf.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # the other alternative of the body (HTML beside plain text)
        if leaf.get_content_type() == "message/rfc822":
            payload = leaf.as_bytes()
        else:
            payload = leaf.get_payload(decode=True) or b""
        name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not name:
            subtype = re.sub(r"[^a-z0-9]", "", leaf.get_content_subtype().lower())[:8] or "bin"
            name = f"attachment-{number}.{subtype}"
        attachments.append(Attachment(name[:150], payload, leaf.get_content_type()))
    return text, attachments


def _raw_8bit(text: str) -> str:
    """Header text sent as raw 8-bit bytes (not encoded words) comes back from the parser as
    surrogate escapes: decode it as UTF-8, else GB18030."""
    if not any("\udc80" <= character <= "\udcff" for character in text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _address(message: EmailMessage) -> tuple[str, str]:
    try:
        header = message.get("From")
        addresses = header.addresses if header is not None else ()
        if addresses:
            name = _raw_8bit(addresses[0].display_name or "").strip()
            return _raw_8bit(addresses[0].addr_spec).strip().lower(), name
    except Exception:  # unparsable header: fall back to the plain parser below
        logger.debug("unparsable From header", exc_info=True)
    name, address = email.utils.parseaddr(_raw(message, "From") or "")
    try:
        name = str(email.header.make_header(email.header.decode_header(name)))
    except Exception:  # a broken encoded word: keep it as written
        logger.debug("undecodable sender name", exc_info=True)
    return address.strip().lower(), name.strip()


def _message_ids(value: Any) -> list[str]:
    return MESSAGE_ID.findall(str(value or ""))


def _date(message: EmailMessage) -> datetime.datetime | None:
    try:
        header = message.get("Date")
        moment = getattr(header, "datetime", None) if header is not None else None
    except Exception:
        return None
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def _raw(message: EmailMessage, name: str) -> str | None:
    """A header's raw text (None when absent), read without the structured parsers, which can
    trip over malformed values; these headers only need a token or the <ids> in them."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return _raw_8bit(str(value))
    return None


def _auto_reason(message: EmailMessage, sender: str, subject: str) -> str:
    auto_submitted = (_raw(message, "Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = (_raw(message, "Precedence") or "").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _raw(message, header) is not None:
            return header
    if _raw(message, "X-MedService-Ticket") is not None:
        return "our own outgoing message"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    if _raw(message, "List-Id") is not None or _raw(message, "List-Unsubscribe") is not None:
        return "mailing list"
    if sender.split("@", 1)[0] in DAEMON_SENDERS:
        return "sent by a mail daemon"
    if (_raw(message, "Return-Path") or "").strip() == "<>":
        return "empty return path (bounce)"
    if sender and sender in _own_addresses():
        return "sent from the service mailbox itself"
    if AUTO_REPLY_SUBJECT.match(subject):
        return "auto-reply subject"
    return ""


def _own_addresses() -> set[str]:
    addresses = set()
    for value in (
        settings.DEFAULT_FROM_EMAIL,
        getattr(settings, "MEDSERVICE_SERVICE_MAILBOX", ""),
        getattr(settings, "MEDSERVICE_IMAP_USER", ""),
    ):
        address = email.utils.parseaddr(value or "")[1].strip().lower()
        if "@" in address:
            addresses.add(address)
    return addresses


def message_parse(raw: bytes) -> ParsedMessage:
    """Everything intake needs from a raw RFC 822 message, decoded (GBK/GB2312 as GB18030)."""
    raw = re.sub(rb"=\?(gb2312|gbk|x-gbk|cp936)\?", b"=?gb18030?", raw, flags=re.IGNORECASE)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    sender, name = _address(message)
    try:
        subject = str(message.get("Subject", "") or "")
    except Exception:  # a broken encoded word: keep the raw text
        subject = _raw(message, "Subject") or ""
    subject = re.sub(r"\s+", " ", _raw_8bit(subject)).strip()
    ids = _message_ids(_raw(message, "Message-ID"))
    message_id = ids[0] if ids else f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"
    if len(message_id) > 300:
        message_id = f"<{hashlib.sha256(message_id.encode()).hexdigest()}@long-message-id.invalid>"
    references = _message_ids(_raw(message, "In-Reply-To")) + list(
        reversed(_message_ids(_raw(message, "References")))
    )
    text, attachments = _body_and_attachments(message)
    return ParsedMessage(
        message_id=message_id,
        sender_email=sender,
        sender_name=name,
        subject=subject,
        text=text,
        date=_date(message),
        references=[reference for reference in references if reference != message_id],
        attachments=attachments,
        auto_reason=_auto_reason(message, sender, subject),
    )


# --- deciding -------------------------------------------------------------------------------------


def received_at_of(
    parsed: ParsedMessage, *, now: datetime.datetime | None = None
) -> datetime.datetime:
    now = now or timezone.now()
    if parsed.date is not None and now - DATE_MAX_AGE <= parsed.date <= now:
        return parsed.date
    return now


def kind_from_text(subject: str, text: str) -> str:
    """A simple first guess the agent corrects while screening: complaint words win over fault
    words; anything else is a technical question."""
    haystack = f"{subject}\n{text[:2000]}".lower()
    if any(word in haystack for word in COMPLAINT_WORDS):
        return TicketKind.COMPLAINT
    if any(word in haystack for word in REPAIR_WORDS):
        return TicketKind.REPAIR
    return TicketKind.QUESTION


def strip_quoted(text: str) -> str:
    """The new part of a reply: stop at the quoted original, drop '>' lines."""
    kept = []
    for line in text.splitlines():
        if any(marker.match(line.strip()) for marker in QUOTE_MARKERS):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    result = "\n".join(kept).strip()
    return result or text.strip()


def already_ingested(message_id: str) -> bool:
    return (
        Ticket.objects.filter(email_message_id=message_id).exists()
        or TimelineEntry.objects.filter(email_message_id=message_id).exists()
    )


def thread_find(parsed: ParsedMessage) -> tuple[Ticket | None, bool]:
    """The request this message answers, and whether it was found by the message headers (True)
    or only by the number in its subject (False)."""
    if parsed.references:
        owners: dict[str, int] = dict(
            Ticket.objects.filter(email_message_id__in=parsed.references).values_list(
                "email_message_id", "pk"
            )
        )
        for message_id, ticket_id in TimelineEntry.objects.filter(
            email_message_id__in=parsed.references
        ).values_list("email_message_id", "ticket_id"):
            owners.setdefault(message_id, ticket_id)
        for reference in parsed.references:
            if reference in owners:
                return Ticket.objects.get(pk=owners[reference]), True
    match = NUMBER_IN_SUBJECT.search(parsed.subject)
    if match:
        ticket = Ticket.objects.filter(number=match.group(1).upper()).first()
        if ticket is not None:
            return ticket, False
    return None, False


def _sender_known_to(ticket: Ticket, sender: str) -> bool:
    from medservice.customers.models import Contact

    if not sender:
        return False
    if ticket.reporter_email and ticket.reporter_email.lower() == sender:
        return True
    if ticket.contact_id and (ticket.contact.email or "").lower() == sender:
        return True
    return bool(
        ticket.organization_id
        and Contact.objects.filter(
            organization_id=ticket.organization_id, email__iexact=sender
        ).exists()
    )


def contact_of_sender(sender: str) -> Any:
    from medservice.customers.models import Contact

    if not sender:
        return None
    matches = list(
        Contact.objects.filter(email__iexact=sender, anonymised_at__isnull=True).select_related(
            "organization"
        )[:2]
    )
    return matches[0] if len(matches) == 1 else None


# --- writing --------------------------------------------------------------------------------------


def _checked_files(parsed: ParsedMessage) -> tuple[list[ContentFile], list[tuple[str, str]]]:
    """Attachments that pass the content and size check, and (name, reason) for the others."""
    from medservice.core.attachments import attachment_check

    accepted, refused = [], []
    for item in parsed.attachments:
        upload = ContentFile(item.content, name=item.name)
        try:
            attachment_check(upload)
        except DomainError as error:
            refused.append((item.name, error.message))
            continue
        accepted.append(upload)
    return accepted, refused


def _note_refused(ticket: Ticket, refused: list[tuple[str, str]], *, at: datetime.datetime) -> None:
    from medservice.tickets.services import timeline_add

    for name, reason in refused:
        timeline_add(
            ticket,
            kind=TimelineKind.NOTE,
            text=_("The attachment %(name)s of the e-mail was not accepted: %(reason)s")
            % {"name": name, "reason": reason},
            customer_visible=True,
            at=at,
            data={"refused_attachment": name},
        )


def ticket_email_received(
    *,
    ticket: Ticket,
    parsed: ParsedMessage,
    visible: bool,
    at: datetime.datetime | None = None,
) -> list[str]:
    """A message on an existing request: an e-mail entry (customer-visible when it comes from
    the customer), its files, and — like a customer's note in the portal — the end of a wait
    for the customer, or else a word to the owner. Returns the names of refused attachments."""
    from medservice.tickets.services import ticket_resume_for_customer, timeline_add

    at = at or timezone.now()
    files, refused = _checked_files(parsed)
    with transaction.atomic():
        entry = timeline_add(
            ticket,
            kind=TimelineKind.EMAIL_IN,
            text=strip_quoted(parsed.text)[:DESCRIPTION_MAX_CHARS] or parsed.subject,
            customer_visible=visible,
            at=at,
            email_message_id=parsed.message_id,
            data={
                "from": parsed.sender_email,
                "subject": parsed.subject[:300],
                "sender_known": visible,
            },
        )
        _label_sender(entry, parsed)
        for upload in files:
            timeline_add(
                ticket,
                kind=TimelineKind.ATTACHMENT,
                text=upload.name,
                customer_visible=visible,
                at=at,
                attachment=upload,
            )
        _note_refused(ticket, refused, at=at)
        ticket.refresh_from_db(fields=["status", "owner"])
        if visible and ticket.status == Status.WAITING_CUSTOMER:
            ticket_resume_for_customer(ticket=ticket, actor=None)
        elif ticket.owner_id:
            notify(
                recipients=[ticket.owner],
                template="ticket_customer_added",
                context={"ticket": ticket},
                link=f"/tickets/{ticket.pk}/",
            )
    return [name for name, _reason in refused]


def _label_sender(entry: TimelineEntry, parsed: ParsedMessage) -> None:
    # "By" the sender's address (kept like the request's reporter e-mail), not "system".
    entry.actor_label = parsed.sender_email[:150]
    entry.save(update_fields=["actor_label"])


def _ticket_from_email(parsed: ParsedMessage, *, at: datetime.datetime) -> tuple[Ticket, list[str]]:
    from medservice.tickets.services import ticket_register, timeline_add

    files, refused = _checked_files(parsed)
    contact = contact_of_sender(parsed.sender_email)
    subject = parsed.subject[:200] or _("(no subject)")
    description = parsed.text[:DESCRIPTION_MAX_CHARS] or subject
    data = {
        "kind": kind_from_text(parsed.subject, parsed.text),
        "channel": Channel.EMAIL,
        "contact": contact,
        "organization": contact.organization if contact else None,
        "reporter_name": parsed.sender_name or parsed.sender_email.split("@", 1)[0],
        "reporter_email": parsed.sender_email,
        "subject": subject,
        "description": description,
        "received_at": at,
        "email_message_id": parsed.message_id,
    }
    with transaction.atomic():
        ticket = ticket_register(actor=None, data=data, attachments=files)
        entry = timeline_add(
            ticket,
            kind=TimelineKind.EMAIL_IN,
            text=description,
            customer_visible=True,
            at=at,
            data={"from": parsed.sender_email, "subject": parsed.subject[:300]},
        )
        _label_sender(entry, parsed)
        _note_refused(ticket, refused, at=at)
    return ticket, [name for name, _reason in refused]


def email_ingest(raw: bytes, *, now: datetime.datetime | None = None) -> IntakeResult:
    """Take one raw message: a new request, an entry on the request it answers, or nothing
    (a duplicate, an auto-reply, an unusable sender) — with the reason in the log."""
    parsed = message_parse(raw)
    if already_ingested(parsed.message_id):
        logger.info("e-mail %s already taken; skipped", parsed.message_id)
        return IntakeResult("duplicate", parsed.message_id, reason="already ingested")
    if parsed.auto_reason:
        logger.info(
            "e-mail %s not turned into a request: %s", parsed.message_id, parsed.auto_reason
        )
        return IntakeResult("ignored", parsed.message_id, reason=parsed.auto_reason)
    at = received_at_of(parsed, now=now)
    with audit_context(job=JOB), transaction.atomic():
        ticket, by_headers = thread_find(parsed)
        if ticket is not None:
            visible = by_headers or _sender_known_to(ticket, parsed.sender_email)
            refused = ticket_email_received(ticket=ticket, parsed=parsed, visible=visible, at=at)
            logger.info(
                "e-mail %s added to %s%s",
                parsed.message_id,
                ticket.number,
                "" if visible else " (sender unknown to the request: internal entry)",
            )
            return IntakeResult(
                "threaded", parsed.message_id, ticket=ticket, refused_attachments=refused
            )
        if "@" not in parsed.sender_email:
            logger.warning("e-mail %s has no usable sender; not registered", parsed.message_id)
            return IntakeResult("rejected", parsed.message_id, reason="no usable sender address")
        try:
            with transaction.atomic():
                ticket, refused = _ticket_from_email(parsed, at=at)
        except DomainError as error:
            logger.warning("e-mail %s could not be registered: %s", parsed.message_id, error)
            return IntakeResult("rejected", parsed.message_id, reason=str(error))
    logger.info("e-mail %s registered as %s", parsed.message_id, ticket.number)
    return IntakeResult("created", parsed.message_id, ticket=ticket, refused_attachments=refused)


# --- the mailbox ----------------------------------------------------------------------------------


def imap_configured() -> bool:
    return bool(getattr(settings, "MEDSERVICE_IMAP_HOST", ""))


def _imap_connect() -> imaplib.IMAP4:
    host = settings.MEDSERVICE_IMAP_HOST
    use_ssl = getattr(settings, "MEDSERVICE_IMAP_SSL", True)
    port = int(getattr(settings, "MEDSERVICE_IMAP_PORT", 0) or (993 if use_ssl else 143))
    timeout = float(getattr(settings, "MEDSERVICE_IMAP_TIMEOUT", 60))
    if use_ssl:
        return imaplib.IMAP4_SSL(
            host, port, ssl_context=ssl.create_default_context(), timeout=timeout
        )
    return imaplib.IMAP4(host, port, timeout=timeout)


def _mailbox_name(folder: str) -> str:
    folder = folder or "INBOX"
    if re.search(r'[\s"(){%*\\]', folder):
        return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return folder


def _fetched_bytes(data: Any) -> bytes | None:
    for item in data or []:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def imap_poll(*, limit: int = 200) -> dict[str, int]:
    """Read the unseen messages of the configured mailbox folder, ingest each, and mark it seen
    once it is handled (registered, threaded, a duplicate, an auto-reply or unusable). A message
    that fails stays unseen, is logged, and is tried again next time; it never stops the
    others. Does nothing when no IMAP host is configured."""
    if not imap_configured():
        return {}
    counts: Counter[str] = Counter()
    folder = getattr(settings, "MEDSERVICE_IMAP_FOLDER", "") or "INBOX"
    connection = _imap_connect()
    try:
        connection.login(settings.MEDSERVICE_IMAP_USER, settings.MEDSERVICE_IMAP_PASSWORD)
        status, _data = connection.select(_mailbox_name(folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open IMAP folder {folder!r}: {status}")
        status, data = connection.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise imaplib.IMAP4.error(f"IMAP search failed: {status}")
        uids = (data[0] or b"").split() if data else []
        for uid in uids[:limit]:
            try:
                status, fetched = connection.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = _fetched_bytes(fetched) if status == "OK" else None
                if raw is None:
                    raise imaplib.IMAP4.error(f"IMAP fetch of {uid!r} returned no message")
                result = email_ingest(raw)
            except Exception:
                counts["failed"] += 1
                logger.exception(
                    "IMAP message %s in %s could not be ingested; it stays unseen and is retried",
                    uid.decode(errors="replace") if isinstance(uid, bytes) else uid,
                    folder,
                )
                continue
            connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            counts[result.outcome] += 1
    finally:
        try:
            connection.logout()
        except Exception:  # the connection may already be gone
            logger.debug("IMAP logout failed", exc_info=True)
    return dict(counts)
