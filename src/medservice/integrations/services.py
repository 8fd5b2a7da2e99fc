"""Outbound webhooks: publishing domain events to the subscriptions that may see them, sending
each delivery signed, retrying with exponential back-off, and disabling a subscription whose
receiver keeps failing (its owner is told).

Domain apps call `event_publish` from their services inside their transaction; the deliveries
are written only once that transaction commits, so a rolled-back change never reaches anyone.
"""

from __future__ import annotations

import datetime
import json
import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.audit import audit_log_pruned, audit_record
from medservice.core.choices import AuditAction
from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.core.notifications import notify
from medservice.customers.choices import OrganizationKind
from medservice.integrations import transport
from medservice.integrations.choices import SUBSCRIBABLE_EVENTS, DeliveryState, EventType
from medservice.integrations.models import WebhookDelivery, WebhookSubscription

# The version of the envelope (id, type, occurred_at, data); a breaking change bumps it.
PAYLOAD_VERSION = "1"


def secret_generate() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def isoformat(value: datetime.datetime | datetime.date | None) -> str | None:
    """ISO 8601 in UTC with offset for times, YYYY-MM-DD for dates, None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    return value.isoformat()


# --- Subscriptions ----------------------------------------------------------------------------


def _check(data: dict[str, Any]) -> None:
    problems: dict[str, list[str]] = {}
    url = (data.get("target_url") or "").strip()
    problem = transport.url_problem(url) if url else _("Enter the receiver's URL.")
    if problem:
        problems["target_url"] = [problem]
    events = data.get("event_types") or []
    valid = {str(choice) for choice in SUBSCRIBABLE_EVENTS}
    if not events:
        problems["event_types"] = [_("Choose at least one event.")]
    elif any(event not in valid for event in events):
        problems["event_types"] = [_("Unknown event: %(events)s.") % {
            "events": ", ".join(sorted(set(events) - valid))
        }]  # fmt: skip
    if problems:
        raise InvalidInputError(
            _("The webhook subscription was not saved: %(fields)s.")
            % {"fields": ", ".join(problems)},
            fields=problems,
        )


def subscription_create(*, actor: Any, data: dict[str, Any]) -> WebhookSubscription:
    """A new subscription; without a secret one is generated (shown once to the administrator,
    who gives it to the receiver)."""
    _check(data)
    subscription = WebhookSubscription(
        name=data["name"],
        organization=data.get("organization"),
        owner=data.get("owner") or actor,
        target_url=data["target_url"].strip(),
        secret=data.get("secret") or secret_generate(),
        event_types=sorted(set(data["event_types"])),
    )
    with transaction.atomic(), audit_context(actor=actor):
        subscription.full_clean()
        subscription.save()
    return subscription


def subscription_update(
    *, actor: Any, subscription: WebhookSubscription, data: dict[str, Any]
) -> WebhookSubscription:
    """Change the receiver, events, owner or organisation; an empty secret keeps the old one."""
    _check(data)
    with transaction.atomic(), audit_context(actor=actor):
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        locked.name = data["name"]
        locked.organization = data.get("organization")
        locked.owner = data.get("owner") or locked.owner
        locked.target_url = data["target_url"].strip()
        locked.event_types = sorted(set(data["event_types"]))
        if data.get("secret"):
            locked.secret = data["secret"]
        locked.full_clean()
        locked.save()
    return locked


def subscription_disable(
    *, actor: Any, subscription: WebhookSubscription, reason: str
) -> WebhookSubscription:
    """Stop sending; pending deliveries wait and are retried once it is enabled again."""
    if not (reason or "").strip():
        raise InvalidInputError(
            _("Say why the subscription is disabled."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic(), audit_context(actor=actor, reason=reason.strip()):
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if not locked.is_active:
            raise InvalidTransitionError(_("The subscription is already disabled."))
        locked.is_active = False
        locked.disabled_at = timezone.now()
        locked.disabled_reason = reason.strip()[:300]
        locked.save()
    return locked


def subscription_enable(*, actor: Any, subscription: WebhookSubscription) -> WebhookSubscription:
    """Send again, starting with a clean failure count; deliveries still pending are due now."""
    now = timezone.now()
    with transaction.atomic(), audit_context(actor=actor):
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.is_active:
            raise InvalidTransitionError(_("The subscription is already active."))
        locked.is_active = True
        locked.disabled_at = None
        locked.disabled_reason = ""
        locked.consecutive_failures = 0
        locked.save()
        WebhookDelivery.objects.filter(subscription=locked, state=DeliveryState.PENDING).update(
            next_attempt_at=now
        )
    return locked


def subscription_send_test(*, actor: Any, subscription: WebhookSubscription) -> WebhookDelivery:
    """Send a `ping` event to this one subscription now (also when disabled: the administrator
    checks the receiver before enabling it again)."""
    event = _envelope(EventType.PING, {"subscription": subscription.pk}, timezone.now())
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=event["id"],
        event_type=EventType.PING,
        payload=event,
        next_attempt_at=timezone.now(),
    )
    return delivery_attempt(delivery_id=delivery.pk, force=True) or delivery


def subscription_secret_reveal(*, actor: Any, subscription: WebhookSubscription) -> str:
    """The signing secret in full, for the administrator to give the receiver; audited like
    personal data shown in full (whoever has it can forge events)."""
    if not actor.has_perm("integrations.change_webhooksubscription"):
        raise PermissionDeniedError(_("You may not see the signing secret."))
    with transaction.atomic(), audit_context(actor=actor):
        audit_record(subscription, AuditAction.UNMASK, before={}, after={}, detail="secret")
    return subscription.secret


# --- Publishing -------------------------------------------------------------------------------


def _envelope(
    event_type: str, data: dict[str, Any], occurred_at: datetime.datetime
) -> dict[str, Any]:
    body = {
        "id": str(uuid.uuid4()),
        "type": str(event_type),
        "version": PAYLOAD_VERSION,
        "occurred_at": isoformat(occurred_at),
        "data": data,
    }
    # Stored exactly as sent: round-trip through JSON so dates and decimals are plain strings.
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def subscriptions_for(event_type: str, organization: Any | None) -> list[WebhookSubscription]:
    """Active subscriptions to this event that may see it: the company's own always; another
    organisation's only for an event of a record it may see (its own or a department's, or one
    of the organisations a distributor serves). An event without an organisation (adverse
    events, recalls) is the company's only."""
    company = Q(organization__isnull=True) | Q(organization__kind=OrganizationKind.COMPANY)
    condition = company
    if organization is not None:
        own = {organization.pk}
        if organization.parent_id:
            own.add(organization.parent_id)
        served = set(
            type(organization)
            .served_by.through.objects.filter(from_organization_id__in=own)
            .values_list("to_organization_id", flat=True)
        )
        condition |= Q(organization_id__in=own) | Q(
            organization_id__in=served, organization__kind=OrganizationKind.DISTRIBUTOR
        )
    candidates = WebhookSubscription.objects.filter(condition, is_active=True).order_by("pk")
    # JSON "contains" is not portable to SQLite; the subscriptions are few.
    return [item for item in candidates if event_type in item.event_types]


def event_publish(
    event_type: str,
    payload: dict[str, Any],
    *,
    organization: Any | None = None,
    occurred_at: datetime.datetime | None = None,
) -> None:
    """Publish a domain event: after the caller's transaction commits, one delivery per matching
    subscription is written and sent by a task. `organization` is the organisation the record
    belongs to (None: the company's own records)."""
    occurred_at = occurred_at or timezone.now()
    # Robust: the business change is committed by then; a failure to queue its webhooks is
    # logged and must not turn the user's completed action into an error page.
    transaction.on_commit(
        lambda: _publish_now(str(event_type), payload, organization, occurred_at), robust=True
    )


def _publish_now(
    event_type: str, payload: dict[str, Any], organization: Any, occurred_at: datetime.datetime
) -> list[int]:
    subscriptions = subscriptions_for(event_type, organization)
    if not subscriptions:
        return []
    event = _envelope(event_type, payload, occurred_at)
    now = timezone.now()
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                subscription=subscription,
                event_id=event["id"],
                event_type=event_type,
                payload=event,
                next_attempt_at=now,
            )
            for subscription in subscriptions
        ]
    ids = [delivery.pk for delivery in deliveries]
    from medservice.integrations.tasks import webhook_deliver

    for pk in ids:
        webhook_deliver.enqueue(pk)
    return ids


# --- Sending ----------------------------------------------------------------------------------


def retry_delay(attempts: int) -> datetime.timedelta:
    """Back-off after the n-th failed attempt: base × 2^(n−1), at most the maximum."""
    base = settings.WEBHOOKS_RETRY_BASE_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.WEBHOOKS_RETRY_MAX_SECONDS)
    return datetime.timedelta(seconds=seconds)


def _claim(delivery_id: int, now: datetime.datetime, *, force: bool) -> bool:
    """Take the delivery for one attempt (a conditional UPDATE): two workers, or a worker and the
    retry job, never send it twice at once; a crashed attempt is retried after the lease."""
    lease = now + datetime.timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS + 30)
    queryset = WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING)
    if not force:
        queryset = queryset.filter(next_attempt_at__lte=now, subscription__is_active=True)
    return queryset.update(next_attempt_at=lease) == 1


def delivery_attempt(*, delivery_id: int, force: bool = False) -> WebhookDelivery | None:
    """One attempt: POST the signed body, record the outcome, schedule the next attempt or
    give up, and disable the subscription after WEBHOOKS_DISABLE_AFTER failures in a row."""
    now = timezone.now()
    if not _claim(delivery_id, now, force=force):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(now.timestamp()))
    result = transport.post(
        url=subscription.target_url,
        body=body,
        headers={
            "X-MedService-Event": delivery.event_type,
            "X-MedService-Delivery": str(delivery.uuid),
            "X-MedService-Timestamp": timestamp,
            "X-MedService-Signature": transport.signature_for(
                secret=subscription.secret, timestamp=timestamp, body=body
            ),
        },
        timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
    )
    return _record(delivery, result, now)


def _record(
    delivery: WebhookDelivery, result: transport.SendResult, now: datetime.datetime
) -> WebhookDelivery:
    with transaction.atomic():
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = result.status_code
        delivery.last_error = "" if result.ok else result.error
        if result.ok:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.save()
        _subscription_after_attempt(delivery.subscription_id, ok=result.ok, error=result.error)
    return delivery


def _counter_set(subscription_id: int, failures: int) -> None:
    # A plain counter, not a configuration change (the field is excluded from the audit): the
    # base manager's update writes no audit event per attempt.
    WebhookSubscription._base_manager.filter(pk=subscription_id).update(
        consecutive_failures=failures
    )


def _subscription_after_attempt(subscription_id: int, *, ok: bool, error: str) -> None:
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    if ok:
        if subscription.consecutive_failures:
            _counter_set(subscription_id, 0)
        return
    failures = subscription.consecutive_failures + 1
    limit = settings.WEBHOOKS_DISABLE_AFTER
    if failures < limit or not subscription.is_active:
        _counter_set(subscription_id, failures)
        return
    subscription.consecutive_failures = failures
    subscription.is_active = False
    subscription.disabled_at = timezone.now()
    subscription.disabled_reason = (
        _("Disabled after %(count)s failed deliveries in a row; last error: %(error)s")
        % {"count": failures, "error": error or "-"}
    )[:300]
    with audit_context(job="integrations.webhook-retries", reason=subscription.disabled_reason):
        subscription.save()
    notify(
        recipients=[subscription.owner],
        template="webhook_disabled",
        context={"subscription": subscription, "failures": failures, "error": error},
        link=f"/integrations/webhooks/{subscription.pk}/",
    )


# One run of the retry job stops starting attempts after this long, well inside its 10-minute
# lease: a few receivers that time out must not make two runs overlap.
RETRY_RUN_BUDGET = datetime.timedelta(minutes=5)


def deliveries_retry_due(*, now: datetime.datetime | None = None, limit: int = 200) -> int:
    """The periodic job: attempt every pending delivery whose next attempt is due (active
    subscriptions only), oldest first, within RETRY_RUN_BUDGET; returns how many were
    attempted. What is left waits for the next run."""
    now = now or timezone.now()
    stop_at = time.monotonic() + RETRY_RUN_BUDGET.total_seconds()
    due: Iterable[int] = (
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING,
            next_attempt_at__lte=now,
            subscription__is_active=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    attempted = 0
    for pk in list(due):
        if time.monotonic() > stop_at:
            break
        if delivery_attempt(delivery_id=pk) is not None:
            attempted += 1
    return attempted


def delivery_redeliver(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now (delivered or failed alike, e.g. after the receiver lost it):
    the same event id and body, so a receiver that de-duplicates by event id can."""
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.state == DeliveryState.PENDING and locked.attempts == 0:
            raise InvalidTransitionError(_("The delivery has not been attempted yet."))
        locked.state = DeliveryState.PENDING
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["state", "next_attempt_at"])
    return delivery_attempt(delivery_id=locked.pk, force=True) or locked


# --- The delivery log's retention -------------------------------------------------------------

PRUNE_BATCH = 1000


def deliveries_prune(*, now: datetime.datetime | None = None) -> int:
    """The periodic job: delete the delivered and failed deliveries whose last activity (the
    later of creation and last attempt) is more than WEBHOOKS_DELIVERY_RETENTION_DAYS old, and
    record how many in one audit event. A pending delivery (first attempt or retries still to
    come) is never deleted, however old: it is work, not log. Returns the count."""
    now = now or timezone.now()
    days = settings.WEBHOOKS_DELIVERY_RETENTION_DAYS
    cutoff = now - datetime.timedelta(days=days)
    old = (
        WebhookDelivery.objects.exclude(state=DeliveryState.PENDING)
        .filter(created_at__lt=cutoff)
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff))
    )
    deleted = 0
    with transaction.atomic():
        while True:
            # Locked first, so a redelivery that makes one pending again waits or is skipped.
            batch = list(
                old.select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:PRUNE_BATCH]
            )
            if not batch:
                break
            deleted += WebhookDelivery.objects.filter(pk__in=batch).delete()[0]
        if deleted:
            audit_log_pruned(
                WebhookDelivery,
                count=deleted,
                older_than=cutoff,
                reason=_("The webhook delivery log is kept for %(days)s days.") % {"days": days},
            )
    return deleted
