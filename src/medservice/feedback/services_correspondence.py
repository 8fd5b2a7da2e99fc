"""The correspondence archive (来往函件): letters, faxes and e-mails with customers, numbered in
one sequence (LT-2026-000001) and filed under the organisation and the product; an e-mail is
filed from its original message (.eml), its subject, sender and date read from the headers."""

from __future__ import annotations

import datetime
import email
import email.policy
import email.utils
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.attachments import attachment_check, attachment_max_bytes
from medservice.core.context import audit_context
from medservice.core.errors import ConflictError, DomainError, InvalidInputError, Problems
from medservice.core.numbering import number_next
from medservice.feedback.choices import LetterDirection, LetterKind
from medservice.feedback.models import Letter, LetterFile

LETTER_FIELDS = (
    "kind", "direction", "letter_date", "subject", "organization", "counterpart",
    "their_reference", "device_model", "summary", "ticket", "quality_case",
)  # fmt: skip


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _letter_problems(
    actor: Any, data: dict[str, Any], problems: Problems, *, current: Letter | None = None
) -> None:
    from medservice.customers.selectors import organizations_visible_to
    from medservice.quality.selectors import cases_visible_to
    from medservice.tickets.selectors import tickets_visible_to

    merged = {
        name: data[name] if name in data else getattr(current, name, None) for name in LETTER_FIELDS
    }
    if merged["kind"] not in LetterKind.values:
        problems.add("kind", _("Choose letter, fax or e-mail."))
    if merged["direction"] not in LetterDirection.values:
        problems.add("direction", _("Say whether it was received or sent."))
    if merged["letter_date"] is None:
        problems.add("letter_date", _("Give the date of the correspondence."))
    elif merged["letter_date"] > timezone.localdate() + datetime.timedelta(days=1):
        problems.add("letter_date", _("The correspondence cannot be dated in the future."))
    if not _text(merged["subject"]):
        problems.add("subject", _("Give the subject."))
    organization = merged["organization"]
    if organization is None:
        problems.add("organization", _("Choose the organisation it is filed under."))
    elif (
        actor is not None
        and not organizations_visible_to(actor).filter(pk=organization.pk).exists()
    ):
        problems.add("organization", _("There is no such organisation in your scope."))
    ticket = merged["ticket"]
    if ticket is not None:
        if actor is not None and not tickets_visible_to(actor).filter(pk=ticket.pk).exists():
            problems.add("ticket", _("There is no such service request in your scope."))
        elif organization is not None and ticket.organization_id != organization.pk:
            problems.add(
                "ticket",
                _("Service request %(ticket)s is of another organisation.") % {"ticket": ticket},
            )
    case = merged["quality_case"]
    if case is not None:
        if actor is not None and not cases_visible_to(actor).filter(pk=case.pk).exists():
            problems.add("quality_case", _("There is no such quality case in your scope."))
        elif (
            organization is not None
            and case.organization_id is not None
            and case.organization_id != organization.pk
        ):
            problems.add(
                "quality_case",
                _("Quality case %(case)s is of another organisation.") % {"case": case},
            )


def _files_save(letter: Letter, uploads: list[Any], actor: Any) -> list[LetterFile]:
    saved = []
    for upload in uploads:
        mime = attachment_check(upload, field="files")
        saved.append(
            LetterFile.objects.create(
                letter=letter,
                file=upload,
                content_type=mime,
                original_name=(getattr(upload, "name", "") or "file")[:255],
                uploaded_by=actor,
            )
        )
    return saved


def letter_create(
    *,
    actor: Any,
    model: type[Letter] = Letter,
    data: dict[str, Any],
    email_message_id: str = "",
    extra_files: list[tuple[str, str, bytes]] | None = None,
) -> Letter:
    """File a letter, fax or e-mail with its scans: numbered from one sequence, all or nothing
    (a bad file and nothing is filed)."""
    uploads = [item for item in (data.pop("files", None) or []) if item]
    problems = Problems()
    data = {name: data[name] for name in LETTER_FIELDS if name in data}
    _letter_problems(actor, data, problems)
    for upload in uploads:
        try:
            attachment_check(upload, field="files")
        except DomainError as error:
            for message in error.fields.get("files", [error.message]):
                problems.add("files", message)
    problems.raise_if_any(_("The correspondence was not filed."))
    if email_message_id:
        existing = Letter.objects.filter(email_message_id=email_message_id[:300]).first()
        if existing is not None:
            message = _("This e-mail is already filed as %(letter)s.") % {"letter": existing}
            raise ConflictError(message, fields={"file": [message]})
    for name in ("subject", "counterpart", "their_reference", "summary"):
        data[name] = _text(data.get(name))
    try:
        with transaction.atomic(), audit_context(actor=actor):
            letter = Letter(
                number=number_next(prefix="LT"),
                recorded_by=actor,
                email_message_id=email_message_id[:300],
                **data,
            )
            # The one-letter-per-message constraint is the database's (two uploads at once).
            letter.full_clean(exclude=["number"], validate_constraints=False)
            letter.save()
            _files_save(letter, uploads, actor)
            for name, mime, content in extra_files or []:
                LetterFile.objects.create(
                    letter=letter,
                    file=ContentFile(content, name=name),
                    content_type=mime,
                    original_name=name[:255],
                    uploaded_by=actor,
                )
    except IntegrityError:
        existing = Letter.objects.filter(email_message_id=email_message_id).first()
        message = _("This e-mail is already filed as %(letter)s.") % {"letter": existing}
        raise ConflictError(message, fields={"file": [message]}) from None
    return letter


def letter_update(
    *, actor: Any, instance: Letter, data: dict[str, Any], expected_version: int | None = None
) -> Letter:
    uploads = [item for item in (data.pop("files", None) or []) if item]
    problems = Problems()
    data = {name: data[name] for name in LETTER_FIELDS if name in data}
    _letter_problems(actor, data, problems, current=instance)
    problems.raise_if_any(_("The correspondence was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        current = Letter.objects.select_for_update().get(pk=instance.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _(
                    "%(record)s was changed by someone else after you opened it. "
                    "Reload it, then apply your change again."
                )
                % {"record": current}
            )
        for name, value in data.items():
            setattr(current, name, _text(value) if isinstance(value, str) else value)
        current.full_clean(exclude=["number"])
        current.save()
        _files_save(current, uploads, actor)
    return current


def letter_file_attach(*, actor: Any, letter: Letter, upload: Any) -> LetterFile:
    if upload is None:
        raise InvalidInputError(_("Choose a file."), fields={"file": [_("Choose a file.")]})
    with transaction.atomic(), audit_context(actor=actor, action="attach"):
        return _files_save(letter, [upload], actor)[0]


# --- E-mail -------------------------------------------------------------------------------------


@dataclass
class ParsedEmail:
    """What an e-mail's headers and parts say."""

    subject: str
    sender: str
    sender_address: str
    recipients: str
    sent_at: datetime.datetime | None
    message_id: str
    body: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


def email_parse(raw: bytes) -> ParsedEmail:
    """Read an RFC 5322 message (an .eml file) with the standard library: encoded words in
    the subject and names (=?UTF-8?B?...?=) decoded, the date with its offset, the plain-text
    body, the attached files."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not message.keys() or not (message.get("From") or message.get("Subject")):
        raise InvalidInputError(
            _("The file is not an e-mail message (.eml): it has no sender or subject."),
            fields={"file": [_("Upload the e-mail as an .eml file.")]},
        )
    sent_at = None
    if message.get("Date"):
        try:
            sent_at = email.utils.parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            sent_at = None
        if sent_at is not None and timezone.is_naive(sent_at):
            sent_at = timezone.make_aware(sent_at, datetime.UTC)
    sender = str(message.get("From", "")).strip()
    _name, address = email.utils.parseaddr(sender)
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if body_part is not None:
        try:
            body = body_part.get_content()
        except (LookupError, UnicodeDecodeError):
            body = ""
    attachments = []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        content = part.get_payload(decode=True) or b""
        attachments.append((name, part.get_content_type(), content))
    return ParsedEmail(
        subject=str(message.get("Subject", "")).strip(),
        sender=sender,
        sender_address=address,
        recipients=str(message.get("To", "")).strip(),
        sent_at=sent_at,
        message_id=str(message.get("Message-ID", "")).strip(),
        body=body.strip(),
        attachments=attachments,
    )


def _our_address(address: str) -> bool:
    ours = email.utils.parseaddr(getattr(settings, "DEFAULT_FROM_EMAIL", ""))[1]
    return bool(ours) and address.lower().rpartition("@")[2] == ours.lower().rpartition("@")[2]


def letter_from_email(
    *,
    actor: Any,
    upload: Any,
    organization: Any,
    device_model: Any = None,
    ticket: Any = None,
    quality_case: Any = None,
) -> Letter:
    """File an e-mail from its .eml: subject, sender (or addressee) and date come from the
    message; the message itself is kept, and each attached photo, video or PDF beside it. An
    e-mail the company sent is filed as sent. The same message is filed once."""
    if upload is None:
        raise InvalidInputError(_("Choose the .eml file."), fields={"file": [_("Choose a file.")]})
    if (getattr(upload, "size", 0) or 0) > attachment_max_bytes():
        message = _("The e-mail is larger than %(limit)s MB.") % {
            "limit": attachment_max_bytes() // 1024 // 1024
        }
        raise InvalidInputError(message, fields={"file": [message]})
    raw = upload.read()
    parsed = email_parse(raw)
    outgoing = _our_address(parsed.sender_address)
    local = timezone.localtime(parsed.sent_at) if parsed.sent_at else timezone.localtime()
    kept: list[tuple[str, str, bytes]] = [
        ((getattr(upload, "name", "") or "message.eml")[:255], "message/rfc822", raw)
    ]
    skipped = []
    for name, _mime, content in parsed.attachments:
        probe = ContentFile(content, name=name)
        try:
            real = attachment_check(probe, field="file")
        except DomainError:
            skipped.append(name)  # kept inside the .eml all the same
            continue
        kept.append((name, real, content))
    summary = parsed.body[:5000]
    if skipped:
        summary += "\n\n" + _("Attachments kept only inside the e-mail: %(names)s") % {
            "names": ", ".join(skipped)
        }
    return letter_create(
        actor=actor,
        data={
            "kind": LetterKind.EMAIL,
            "direction": LetterDirection.OUTGOING if outgoing else LetterDirection.INCOMING,
            "letter_date": local.date(),
            "subject": parsed.subject[:300] or _("(no subject)"),
            "organization": organization,
            "counterpart": (parsed.recipients if outgoing else parsed.sender)[:300],
            "device_model": device_model,
            "summary": summary,
            "ticket": ticket,
            "quality_case": quality_case,
        },
        email_message_id=parsed.message_id,
        extra_files=kept,
    )
