"""The stores' duties towards their customers (SOP 医疗器械售后服务管理操作规程 1-2, 5.7):
the published phones and their printable notice, the opinion book with its daily review and
the alert when a book was not reviewed by closing time, the quality case a quality-safety entry
raises, and the out-of-stock register whose customers are told once when the product arrives."""

from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from medservice.core.audit import audit_record
from medservice.core.choices import AuditAction
from medservice.core.context import audit_context
from medservice.core.errors import (
    ConflictError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.feedback.choices import OpinionCategory, ShortageStatus
from medservice.feedback.models import (
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
)
from medservice.feedback.selectors_stores import (
    is_store,
    quantity_in_stock,
    shortages_waiting,
    store_profile_allowed,
    store_refusal,
    store_within_reach,
)

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
# A scheduler that was down catches up on this many past days, never more.
MISSED_REVIEW_CATCH_UP_DAYS = 7


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _text(value: Any) -> str:
    return (value or "").strip() if isinstance(value, str) else ""


def store_time_zone() -> zoneinfo.ZoneInfo:
    """The zone the stores' days are counted in (setting FEEDBACK_STORE_TIME_ZONE)."""
    return zoneinfo.ZoneInfo(getattr(settings, "FEEDBACK_STORE_TIME_ZONE", "Asia/Shanghai"))


def store_day(at: datetime.datetime) -> datetime.date:
    """The store's calendar day of an instant."""
    return timezone.localtime(at, store_time_zone()).date()


def _check_store(
    problems: Problems, actor: Any, store: Any, field: str = "store", *, profile: bool = False
) -> None:
    if store is None:
        problems.add(field, _("Choose the store."))
    elif not (store_profile_allowed(store) if profile else is_store(store)):
        problems.add(field, store_refusal(store, profile=profile))
    elif actor is not None and not store_within_reach(actor, store):
        problems.add(
            field, _("%(organization)s is not one of your stores.") % {"organization": store}
        )


# --- Store profile and notice -------------------------------------------------------------------

PROFILE_FIELDS = (
    "store", "regulator_name", "supervision_phone", "store_complaint_phone",
    "head_office_complaint_phone", "closes_at", "keeps_opinion_book", "manager",
    "quality_person", "notes",
)  # fmt: skip


def _profile_problems(actor: Any, data: dict[str, Any], problems: Problems) -> None:
    _check_store(problems, actor, data.get("store"), profile=True)
    for name, message in (
        ("regulator_name", _("Name the regulator whose phone is published.")),
        ("supervision_phone", _("Give the regulator's supervision phone.")),
        ("store_complaint_phone", _("Give the store's complaint phone.")),
    ):
        if name in data and not _text(data.get(name)):
            problems.add(name, message)


def store_profile_create(
    *, actor: Any, model: type[StoreProfile] = StoreProfile, data: dict[str, Any]
) -> StoreProfile:
    """Record what a store publishes: only a store or chain store has one, one each."""
    problems = Problems()
    data = {name: data[name] for name in PROFILE_FIELDS if name in data}
    for name in ("regulator_name", "supervision_phone", "store_complaint_phone"):
        data.setdefault(name, "")
    _profile_problems(actor, data, problems)
    store = data.get("store")
    if store is not None and StoreProfile.objects.filter(store=store).exists():
        problems.add("store", _("%(store)s already has a profile: edit it.") % {"store": store})
    problems.raise_if_any(_("The store profile was not saved."))
    try:
        with transaction.atomic(), audit_context(actor=actor):
            profile = StoreProfile(**data)
            profile.full_clean(validate_unique=False)
            profile.save()
    except IntegrityError:
        message = _("%(store)s already has a profile: edit it.") % {"store": store}
        raise ConflictError(message, fields={"store": [message]}) from None
    return profile


def store_profile_update(
    *,
    actor: Any,
    instance: StoreProfile,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> StoreProfile:
    problems = Problems()
    data = {name: data[name] for name in PROFILE_FIELDS if name in data}
    if "store" in data and data["store"] != instance.store:
        problems.add("store", _("A profile stays with its store; record a new one instead."))
    _profile_problems(actor, {**data, "store": instance.store}, problems)
    problems.raise_if_any(_("The store profile was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        current = StoreProfile.objects.select_for_update().get(pk=instance.pk)
        _same_version(current, expected_version)
        for name, value in data.items():
            setattr(current, name, value)
        current.full_clean(validate_unique=False)
        current.save()
    return current


def _same_version(current: Any, expected_version: Any) -> None:
    if expected_version is not None and int(expected_version) != current.version:
        raise ConflictError(
            _(
                "%(record)s was changed by someone else after you opened it. "
                "Reload it, then apply your change again."
            )
            % {"record": current}
        )


def store_notice_pdf(profile: StoreProfile) -> bytes:
    """The A4 notice hung in the store (Chinese, as published): the regulator's supervision
    phone, the store's and head office's complaint phones, and the opinion book's place."""
    from weasyprint import HTML

    head_office_phone = profile.head_office_complaint_phone
    if not head_office_phone and profile.store.parent_id:
        parent_profile = StoreProfile.objects.filter(store_id=profile.store.parent_id).first()
        head_office_phone = parent_profile.store_complaint_phone if parent_profile else ""
    with translation.override("zh-hans"):
        html = render_to_string(
            "feedback/stores/notice_pdf.html",
            {
                "profile": profile,
                "store": profile.store,
                "chain": profile.store.parent,
                "head_office_phone": head_office_phone,
            },
        )
    return HTML(string=html).write_pdf()


# --- Opinion book -------------------------------------------------------------------------------

ENTRY_FIELDS = (
    "store", "entry_date", "customer_name", "customer_phone", "category", "content",
    "device_model", "batch_number", "product_text", "answer",
)  # fmt: skip


def _entry_problems(actor: Any, data: dict[str, Any], problems: Problems, *, new: bool) -> None:
    if new or "store" in data:
        _check_store(problems, actor, data.get("store"))
    if (new or "content" in data) and not _text(data.get("content")):
        problems.add("content", _("Write down what the customer wrote."))
    if (new or "category" in data) and data.get("category") not in OpinionCategory.values:
        problems.add("category", _("Choose what the entry is about."))
    entry_date = data.get("entry_date")
    if new and entry_date is None:
        problems.add("entry_date", _("Give the day the customer wrote it."))
    elif entry_date is not None and entry_date > store_day(timezone.now()):
        problems.add("entry_date", _("The entry cannot be dated in the future."))
    phone = _text(data.get("customer_phone"))
    if phone:
        from medservice.core.crypto import normalize_phone

        if not 5 <= len(normalize_phone(phone)) <= 15:
            problems.add("customer_phone", _("%(phone)s is not a phone number.") % {"phone": phone})


def opinion_entry_create(
    *, actor: Any, model: type[OpinionEntry] = OpinionEntry, data: dict[str, Any]
) -> OpinionEntry:
    """Record an opinion-book entry. A quality-safety entry is a quality complaint: it opens
    the quality case at once (the legal clocks count from the day it was written)."""
    problems = Problems()
    data = {name: data[name] for name in ENTRY_FIELDS if name in data}
    _entry_problems(actor, data, problems, new=True)
    problems.raise_if_any(_("The opinion-book entry was not recorded."))
    for name in ("customer_name", "customer_phone", "content", "batch_number", "product_text",
                 "answer"):  # fmt: skip
        data[name] = _text(data.get(name))
    with transaction.atomic(), audit_context(actor=actor):
        entry = OpinionEntry(number=number_next(prefix="OB"), recorded_by=actor, **data)
        if entry.answer:
            entry.answered_at, entry.answered_by = timezone.now(), actor
        entry.full_clean(exclude=["number"])
        entry.save()
        if entry.category == OpinionCategory.QUALITY_SAFETY:
            _open_case(entry)
    return entry


def opinion_entry_update(
    *,
    actor: Any,
    instance: OpinionEntry,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> OpinionEntry:
    """Correct an entry or write the store's answer; an entry that turns out to be about
    quality or safety opens its quality case then."""
    problems = Problems()
    data = {name: data[name] for name in ENTRY_FIELDS if name in data}
    if "store" in data and data["store"] != instance.store:
        problems.add("store", _("An entry stays in the book of its store."))
        data.pop("store")
    _entry_problems(actor, data, problems, new=False)
    problems.raise_if_any(_("The opinion-book entry was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        current = OpinionEntry.objects.select_for_update().get(pk=instance.pk)
        _same_version(current, expected_version)
        answer_before = current.answer
        for name, value in data.items():
            setattr(current, name, _text(value) if isinstance(value, str) else value)
        if current.answer != answer_before:
            current.answered_at = timezone.now() if current.answer else None
            current.answered_by = actor if current.answer else None
        current.full_clean(exclude=["number"])
        current.save()
        if current.category == OpinionCategory.QUALITY_SAFETY and current.quality_case_id is None:
            _open_case(current)
    return current


def opinion_entry_to_quality_case(*, actor: Any, entry: OpinionEntry) -> OpinionEntry:
    """Open (or link) the quality case of an entry: quality staff decide an entry of another
    category is a quality complaint after all; the entry becomes quality-safety."""
    _require(
        actor,
        "feedback.escalate_opinionentry",
        _("You may not open quality cases from the opinion book."),
    )
    with transaction.atomic(), audit_context(actor=actor, action="to-quality-case"):
        current = OpinionEntry.objects.select_for_update().get(pk=entry.pk)
        if current.quality_case_id is not None:
            raise InvalidTransitionError(
                _("%(entry)s already has quality case %(case)s.")
                % {"entry": current, "case": current.quality_case}
            )
        if current.category != OpinionCategory.QUALITY_SAFETY:
            current.category = OpinionCategory.QUALITY_SAFETY
            current.save()
        _open_case(current)
    return current


def _open_case(entry: OpinionEntry) -> Any:
    """The quality case of a quality-safety entry (source: opinion book), linked both ways.
    Opened on the quality department's behalf (the store staff do not hold that right); the
    quality staff are told. A batch named on the entry goes on hold as for any case."""
    from medservice.quality.choices import CaseSource
    from medservice.quality.services import case_create, contact_hours, quality_staff

    # The books are read daily: the company knows of an entry by the end of the day it was
    # written at the latest, or when it is recorded, if sooner.
    end_of_day = datetime.datetime.combine(
        entry.entry_date, datetime.time(23, 59, 59), store_time_zone()
    )
    awareness = min(entry.created_at, end_of_day)
    data: dict[str, Any] = {
        "organization": entry.store,
        "description": _("Opinion book %(store)s, %(number)s (%(date)s): %(content)s")
        % {
            "store": entry.store,
            "number": entry.number,
            "date": entry.entry_date.isoformat(),
            "content": entry.content,
        },
        "awareness_at": awareness,
        "complainant_name": entry.customer_name,
        "complainant_phone": entry.customer_phone,
        "product_reported": entry.product_text,
        "purchased_from": str(entry.store),
    }
    if entry.device_model_id:
        data.update(device_model=entry.device_model, batch_number=entry.batch_number)
    case = case_create(actor=None, data=data, source=CaseSource.OPINION_BOOK)
    entry.quality_case = case
    entry.save()
    notify(
        recipients=quality_staff(),
        template="quality_case_opened",
        context={"case": case, "hours": contact_hours()},
        link=reverse("quality:quality-cases-detail", kwargs={"pk": case.pk}),
    )
    return case


def opinion_entry_unmask(*, actor: Any, entry: OpinionEntry) -> str:
    """The customer's phone in full for a role that calls back; audited."""
    _require(actor, "feedback.unmask_opinionentry", _("You may not see customers' phone numbers."))
    with transaction.atomic(), audit_context(actor=actor):
        audit_record(entry, AuditAction.UNMASK, before={}, after={}, detail="customer_phone")
    return entry.customer_phone or ""


# --- Daily review -------------------------------------------------------------------------------


def opinion_review_record(
    *,
    actor: Any,
    model: type[OpinionBookReview] = OpinionBookReview,
    data: dict[str, Any],
) -> OpinionBookReview:
    """Today's review of a store's opinion book (who, when, what was found); once a day."""
    problems = Problems()
    store = data.get("store")
    _check_store(problems, actor, store)
    findings = _text(data.get("findings"))
    if not findings:
        problems.add("findings", _("Write down what the review found (also when nothing)."))
    problems.raise_if_any(_("The review was not recorded."))
    now = timezone.now()
    day = store_day(now)
    try:
        with transaction.atomic(), audit_context(actor=actor):
            review = OpinionBookReview.objects.create(
                store=store,
                day=day,
                reviewed_at=now,
                reviewed_by=actor,
                findings=findings,
                quality_safety_found=bool(data.get("quality_safety_found")),
            )
    except IntegrityError:
        existing = OpinionBookReview.objects.select_related("reviewed_by").get(store=store, day=day)
        raise ConflictError(
            _("The book of %(store)s was already reviewed today by %(person)s at %(time)s.")
            % {
                "store": store,
                "person": existing.reviewed_by,
                "time": timezone.localtime(existing.reviewed_at, store_time_zone()).strftime(
                    "%H:%M"
                ),
            }
        ) from None
    return review


def review_deadline_time(profile: StoreProfile) -> datetime.time:
    """The store's closing time, or the company's default (FEEDBACK_OPINION_REVIEW_DEADLINE,
    "HH:MM", default 20:00)."""
    if profile.closes_at is not None:
        return profile.closes_at
    text = str(getattr(settings, "FEEDBACK_OPINION_REVIEW_DEADLINE", "20:00"))
    hour, _sep, minute = text.partition(":")
    return datetime.time(int(hour), int(minute or 0))


def review_deadline(profile: StoreProfile, day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, review_deadline_time(profile), store_time_zone())


def review_recipients(profile: StoreProfile) -> list[Any]:
    """Who hears of a missed review: the store manager and its quality person; when neither is
    named, the store's staff."""
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    named = [user for user in (profile.manager, profile.quality_person) if user is not None]
    if named:
        return [user for index, user in enumerate(named) if user not in named[:index]]
    return list(
        User.objects.filter(
            is_active=True, organization=profile.store_id, groups__name=str(Role.STORE_STAFF)
        )
        .distinct()
        .order_by("pk")
    )


def missed_reviews_sweep(*, now: datetime.datetime | None = None) -> int:
    """Record each store day whose book was not reviewed by the deadline, once, and tell the
    store's manager and quality person. Safe to run any number of times, on any machine: the
    record is unique per store and day and a second run finds it."""
    now = now or timezone.now()
    today = store_day(now)
    first_day = today - datetime.timedelta(days=MISSED_REVIEW_CATCH_UP_DAYS - 1)
    profiles = list(
        StoreProfile.objects.filter(keeps_opinion_book=True)
        .select_related("store", "manager", "quality_person")
        .order_by("pk")
    )
    store_ids = [profile.store_id for profile in profiles]
    reviews: dict[tuple[int, datetime.date], datetime.datetime] = {
        (store, day): at
        for store, day, at in OpinionBookReview.objects.filter(
            store_id__in=store_ids, day__gte=first_day
        ).values_list("store_id", "day", "reviewed_at")
    }
    missed = set(
        MissedReview.objects.filter(store_id__in=store_ids, day__gte=first_day).values_list(
            "store_id", "day"
        )
    )
    recorded = 0
    for profile in profiles:
        # Days before the store kept its book in the system are not its to miss.
        start = max(first_day, store_day(profile.created_at))
        day = start
        while day <= today:
            deadline = review_deadline(profile, day)
            key = (profile.store_id, day)
            reviewed_at = reviews.get(key)
            if (
                now >= deadline
                and key not in missed
                and (reviewed_at is None or reviewed_at > deadline)
                and _missed_record(profile, day, deadline, now)
            ):
                recorded += 1
            day += datetime.timedelta(days=1)
    return recorded


def _missed_record(
    profile: StoreProfile, day: datetime.date, deadline: datetime.datetime, now: datetime.datetime
) -> bool:
    recipients = review_recipients(profile)
    try:
        with transaction.atomic(), audit_context(job="feedback.opinion-review-check"):
            missed = MissedReview.objects.create(
                store=profile.store,
                day=day,
                deadline=deadline,
                recorded_at=now,
                notified=", ".join(str(user) for user in recipients)[:500],
            )
            notify(
                recipients=recipients,
                template="feedback_review_missed",
                context={
                    "store": profile.store,
                    "day": day,
                    "deadline": timezone.localtime(deadline, store_time_zone()),
                },
                link=reverse("feedback:missed-reviews-detail", kwargs={"pk": missed.pk}),
            )
    except IntegrityError:
        return False  # another scheduler recorded it a moment ago
    return True


def reviews_today(user: Any) -> list[dict[str, Any]]:
    """The stores `user` keeps, each with today's review (or None) and its deadline: the store
    staff's landing panel. Three queries whatever the number of stores."""
    from medservice.feedback.selectors_stores import store_profiles_visible_to

    today = store_day(timezone.now())
    profiles = list(
        store_profiles_visible_to(user)
        .filter(keeps_opinion_book=True)
        .select_related("store")
        .order_by("store__name", "pk")[:20]
    )
    reviews = {
        review.store_id: review
        for review in OpinionBookReview.objects.filter(
            store_id__in=[profile.store_id for profile in profiles], day=today
        ).select_related("reviewed_by")
    }
    return [
        {
            "profile": profile,
            "store": profile.store,
            "review": reviews.get(profile.store_id),
            "deadline": timezone.localtime(review_deadline(profile, today), store_time_zone()),
        }
        for profile in profiles
    ]


# --- Out-of-stock register ----------------------------------------------------------------------

SHORTAGE_FIELDS = (
    "store", "requested_on", "device_model", "part", "product_text", "quantity",
    "customer_name", "customer_phone", "customer_email",
)  # fmt: skip


def _shortage_problems(
    actor: Any, data: dict[str, Any], problems: Problems, *, new: bool, current: Any = None
) -> None:
    if new or "store" in data:
        _check_store(problems, actor, data.get("store"))
    merged = {
        name: data.get(name, getattr(current, name, None) if current is not None else None)
        for name in SHORTAGE_FIELDS
    }
    if not (merged["device_model"] or merged["part"] or _text(merged["product_text"])):
        problems.add("product_text", _("Name the product: a device model, a part or in words."))
    if merged["device_model"] and merged["part"]:
        problems.add("part", _("Choose a device model or a part, not both."))
    if not (_text(merged["customer_phone"]) or _text(merged["customer_email"])):
        problems.add("customer_phone", _("Give a phone number or e-mail to tell the customer."))
    phone = _text(merged["customer_phone"])
    if phone:
        from medservice.core.crypto import normalize_phone

        if not 5 <= len(normalize_phone(phone)) <= 15:
            problems.add("customer_phone", _("%(phone)s is not a phone number.") % {"phone": phone})
    email = _text(merged["customer_email"])
    if email:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(email)
        except ValidationError:
            problems.add(
                "customer_email", _("%(email)s is not an e-mail address.") % {"email": email}
            )
    quantity = merged["quantity"]
    if quantity is not None and (not isinstance(quantity, int) or quantity < 1):
        problems.add("quantity", _("The quantity is a whole number of at least 1."))
    requested_on = merged["requested_on"]
    if new and requested_on is None:
        problems.add("requested_on", _("Give the day the customer asked."))
    elif requested_on is not None and requested_on > store_day(timezone.now()):
        problems.add("requested_on", _("The day the customer asked cannot be in the future."))


def shortage_entry_create(
    *, actor: Any, model: type[ShortageEntry] = ShortageEntry, data: dict[str, Any]
) -> ShortageEntry:
    """Register a product a customer asked for that the store did not have."""
    problems = Problems()
    data = {name: data[name] for name in SHORTAGE_FIELDS if name in data}
    data.setdefault("quantity", 1)
    _shortage_problems(actor, data, problems, new=True)
    problems.raise_if_any(_("The out-of-stock entry was not recorded."))
    for name in ("product_text", "customer_name", "customer_phone", "customer_email"):
        data[name] = _text(data.get(name))
    with transaction.atomic(), audit_context(actor=actor):
        entry = ShortageEntry(number=number_next(prefix="OS"), recorded_by=actor, **data)
        entry.full_clean(exclude=["number"])
        entry.save()
    return entry


def shortage_entry_update(
    *,
    actor: Any,
    instance: ShortageEntry,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ShortageEntry:
    problems = Problems()
    data = {name: data[name] for name in SHORTAGE_FIELDS if name in data}
    if "store" in data and data["store"] != instance.store:
        problems.add("store", _("An entry stays in the register of its store."))
        data.pop("store")
    _shortage_problems(actor, data, problems, new=False, current=instance)
    problems.raise_if_any(_("The out-of-stock entry was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        current = ShortageEntry.objects.select_for_update().get(pk=instance.pk)
        _same_version(current, expected_version)
        if current.status != ShortageStatus.OPEN:
            raise InvalidTransitionError(
                _("%(entry)s is closed and can no longer be changed.") % {"entry": current}
            )
        for name, value in data.items():
            setattr(current, name, _text(value) if isinstance(value, str) else value)
        current.full_clean(exclude=["number"])
        current.save()
    return current


def shortage_close(
    *, actor: Any, entry: ShortageEntry, status: str, note: str = ""
) -> ShortageEntry:
    """Close an entry: the customer got the product (fulfilled) or no longer wants it, or it
    will not be stocked (cancelled, with the reason)."""
    _require(actor, "feedback.close_shortageentry", _("You may not close out-of-stock entries."))
    problems = Problems()
    if status not in (ShortageStatus.FULFILLED, ShortageStatus.CANCELLED):
        problems.add("status", _("Choose fulfilled or cancelled."))
    if status == ShortageStatus.CANCELLED and not _text(note):
        problems.add("note", _("Say why the entry is cancelled."))
    problems.raise_if_any(_("The entry was not closed."))
    with (
        transaction.atomic(),
        audit_context(actor=actor, action="close", reason=_text(note) or None),
    ):
        current = ShortageEntry.objects.select_for_update().get(pk=entry.pk)
        if current.status != ShortageStatus.OPEN:
            raise InvalidTransitionError(
                _("%(entry)s is already %(status)s.")
                % {"entry": current, "status": current.get_status_display()}
            )
        current.status = status
        current.closed_at = timezone.now()
        current.closed_by = actor
        current.close_note = _text(note)
        current.save()
    return current


def shortage_entry_unmask(*, actor: Any, entry: ShortageEntry) -> dict[str, str]:
    _require(
        actor,
        "feedback.unmask_shortageentry",
        _("You may not see customers' contact details in full."),
    )
    with transaction.atomic(), audit_context(actor=actor):
        audit_record(entry, AuditAction.UNMASK, before={}, after={}, detail="customer_contact")
    return {
        "customer_phone": entry.customer_phone or "",
        "customer_email": entry.customer_email or "",
    }


def shortage_notify(*, entry: ShortageEntry, actor: Any = None, by: str = "stock") -> bool:
    """Tell the customer the product is in (SMS to the phone, e-mail to the address) — once:
    the entry is locked and marked in the same transaction, the message leaves after commit.
    False when the customer was already told or the entry is closed."""
    from medservice.feedback.tasks_stores import send_shortage_message

    with transaction.atomic(), audit_context(actor=actor, action="notify"):
        current = (
            ShortageEntry.objects.select_for_update(of=("self",))
            .select_related("store", "part", "device_model")
            .get(pk=entry.pk)
        )
        if current.notified_at is not None or current.status != ShortageStatus.OPEN:
            return False
        current.notified_at = timezone.now()
        current.notified_by = by
        current.save()
        with translation.override("zh-hans"):
            text = _(
                "%(store)s: the %(product)s you asked for on %(date)s is now in stock. "
                "Your register number: %(number)s."
            ) % {
                "store": current.store,
                "product": current.product_label,
                "date": current.requested_on.isoformat(),
                "number": current.number,
            }
        pk = current.pk
        transaction.on_commit(lambda: send_shortage_message.enqueue(pk, text))
    return True


def shortages_check_stock(
    *, part_ids: list[int] | None = None, device_model_ids: list[int] | None = None
) -> int:
    """Tell every waiting customer whose product is now in stock (the hourly job, and after a
    receipt for the parts received). One stock query per distinct product, not per entry."""
    waiting = shortages_waiting()
    if part_ids is not None or device_model_ids is not None:
        from django.db.models import Q

        waiting = waiting.filter(
            Q(part_id__in=part_ids or []) | Q(device_model_id__in=device_model_ids or [])
        )
    entries = list(waiting.order_by("requested_on", "pk"))
    in_stock: dict[tuple[str, int], bool] = {}
    told = 0
    for entry in entries:
        key = ("part", entry.part_id) if entry.part_id else ("model", entry.device_model_id)
        if key not in in_stock:
            quantity = (
                quantity_in_stock(part_id=entry.part_id)
                if entry.part_id
                else quantity_in_stock(device_model_id=entry.device_model_id)
            )
            in_stock[key] = quantity > 0
        if in_stock[key] and shortage_notify(entry=entry):
            told += 1
    return told


def shortage_notify_by_hand(*, actor: Any, entry: ShortageEntry) -> ShortageEntry:
    """Store staff tell the customer themselves (a product named only in words has arrived)."""
    _require(actor, "feedback.change_shortageentry", _("You may not change out-of-stock entries."))
    if entry.notified_at is not None:
        raise InvalidTransitionError(
            _("The customer of %(entry)s was already told on %(date)s.")
            % {"entry": entry, "date": timezone.localtime(entry.notified_at).strftime("%Y-%m-%d")}
        )
    if not shortage_notify(entry=entry, actor=actor, by="staff"):
        raise InvalidTransitionError(_("%(entry)s is closed.") % {"entry": entry})
    return ShortageEntry.objects.get(pk=entry.pk)


def missing_input(field: str, message: str) -> InvalidInputError:
    return InvalidInputError(message, fields={field: [message]})
