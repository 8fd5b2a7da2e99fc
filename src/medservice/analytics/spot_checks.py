"""Spot checks (定期抽查): which records a plan draws for a period, and the services that draw a
sample and record a review.

The draw is reproducible, random and without repeats (ADR 0013, point 6): each record of a
stratum's population gets the rank `sha256(f"{seed}:{app_label.model}:{pk}")`, and the k
lowest ranks are taken. A record's rank depends on the seed and on the record alone, so anyone
holding the seed recomputes the same picks (`sample_verify`), and a record closed late does not
reshuffle the others. Records already drawn by an earlier sample are left out of the
population, and the database refuses a record in two samples (`spot_check_record_once`).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.analytics.choices import (
    SpotCheckAnswer,
    SpotCheckRecordKind,
    SpotCheckSeverity,
    SpotCheckStratum,
)
from medservice.analytics.models import SpotCheckItem, SpotCheckPlan, SpotCheckSample
from medservice.core.context import audit_context
from medservice.core.errors import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
    Problems,
    SegregationOfDutiesError,
)

# Bump when the ranking or the population rule changes: a stored sample keeps the version it
# was drawn with, and `sample_verify` recomputes with that version's rule.
ALGORITHM_VERSION = "sha256-v1"
# An improvement action opened by a major finding is due this many days after the review.
IMPROVEMENT_DUE_DAYS = 30


@dataclass(frozen=True)
class Candidate:
    """One record of a stratum's population: its id, its stratum and whose work it is."""

    pk: int
    stratum_id: int
    stratum_label: str
    engineer_id: int | None
    team_id: int | None


def record_model(record_kind: str) -> type[models.Model]:
    if record_kind == SpotCheckRecordKind.CLOSED_TICKETS:
        from medservice.tickets.models import Ticket

        return Ticket
    from medservice.work_orders.models import WorkOrder

    return WorkOrder


def model_label(model: type[models.Model]) -> str:
    """`app_label.model`, as it enters the rank (e.g. "tickets.ticket")."""
    return f"{model._meta.app_label}.{model._meta.model_name}"


def rank_of(seed: str, label: str, pk: int) -> str:
    """A record's place in the draw: the lower, the earlier it is taken."""
    return hashlib.sha256(f"{seed}:{label}:{pk}".encode()).hexdigest()


def period_bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, ...]:
    """The period from local midnight of `start` to local midnight after `end`."""
    zone = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone),
    )


def _user_label(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def population(
    plan: SpotCheckPlan, start: datetime.date, end: datetime.date, *, before_sample: int | None
) -> list[Candidate]:
    """The records the plan draws from for the period, each with its stratum: requests closed
    (work orders completed) in the period that have an engineer (team), less those an earlier
    sample already drew (`before_sample`: samples with a smaller id; None = every sample)."""
    model = record_model(plan.record_kind)
    since, until = period_bounds(start, end)
    content_type = ContentType.objects.get_for_model(model)
    drawn = SpotCheckItem.objects.filter(content_type=content_type)
    if before_sample is not None:
        drawn = drawn.filter(sample_id__lt=before_sample)
    if plan.record_kind == SpotCheckRecordKind.CLOSED_TICKETS:
        from medservice.tickets.choices import Status

        records = model.objects.filter(
            status=Status.CLOSED, closed_at__gte=since, closed_at__lt=until
        )
        engineer_field, team_field = "owner", "team"
    else:
        from medservice.work_orders.choices import FINISHED_STATUSES

        records = model.objects.filter(
            status__in=FINISHED_STATUSES, completed_at__gte=since, completed_at__lt=until
        )
        # A work order has no team of its own: it works for its service request's team.
        engineer_field, team_field = "engineer", "ticket__team"
    records = records.exclude(pk__in=drawn.values("object_id"))
    stratum_field = engineer_field if plan.stratum == SpotCheckStratum.ENGINEER else team_field
    # A record nobody owns (no engineer, no team) cannot be attributed: it is not drawn.
    records = records.filter(**{f"{stratum_field}__isnull": False}).select_related(
        engineer_field, team_field
    )
    candidates = []
    for record in records:
        engineer = getattr(record, engineer_field)
        if team_field == "team":
            team = record.team
        else:
            team = record.ticket.team if record.ticket_id else None
        if plan.stratum == SpotCheckStratum.ENGINEER:
            stratum_id, stratum_label = engineer.pk, _user_label(engineer)
        else:
            stratum_id, stratum_label = team.pk, team.name
        candidates.append(
            Candidate(
                pk=record.pk, stratum_id=stratum_id, stratum_label=stratum_label,
                engineer_id=engineer.pk if engineer else None,
                team_id=team.pk if team else None,
            )
        )  # fmt: skip
    return candidates


def draw(
    candidates: Iterable[Candidate], *, seed: str, label: str, size: int
) -> list[tuple[Candidate, str]]:
    """The `size` lowest-ranked records of each stratum, with their ranks."""
    by_stratum: dict[int, list[tuple[str, Candidate]]] = defaultdict(list)
    for candidate in candidates:
        by_stratum[candidate.stratum_id].append((rank_of(seed, label, candidate.pk), candidate))
    picks = []
    for stratum_id in sorted(by_stratum):
        ranked = sorted(by_stratum[stratum_id], key=lambda pair: pair[0])
        picks += [(candidate, rank) for rank, candidate in ranked[:size]]
    return picks


def sample_verify(sample: SpotCheckSample) -> bool:
    """Recompute the draw from the stored seed and compare it with the stored items: True when
    they are the same records with the same ranks. It reads the records as they are now, so a
    request reopened since the draw shows as a difference."""
    plan = sample.plan
    model = record_model(plan.record_kind)
    candidates = population(plan, sample.period_start, sample.period_end, before_sample=sample.pk)
    expected = {
        (candidate.pk, rank)
        for candidate, rank in draw(
            candidates, seed=sample.seed, label=model_label(model), size=plan.size_per_stratum
        )
    }
    stored = set(sample.items.values_list("object_id", "rank"))
    return expected == stored


def _reviewer_for(
    plan: SpotCheckPlan, candidate: Candidate, managers: dict[int, int]
) -> int | None:
    """The team's manager, else the plan's default reviewer; never the record's own engineer."""
    for reviewer_id in (managers.get(candidate.team_id or 0), plan.default_reviewer_id):
        if reviewer_id and reviewer_id != candidate.engineer_id:
            return reviewer_id
    return None


def spot_check_sample_create(
    *,
    plan: SpotCheckPlan,
    period_start: datetime.date,
    period_end: datetime.date,
    actor: Any = None,
    seed: str | None = None,
) -> SpotCheckSample:
    """Draw the plan's sample for the period, once: a second call for the same plan and period
    (a rerun of the job, or two at once) returns the sample already drawn."""
    if actor is not None and not actor.has_perm("analytics.add_spotchecksample"):
        raise PermissionDeniedError(_("You may not draw spot-check samples."))
    if period_end < period_start:
        raise InvalidInputError(
            _("The period cannot end before it starts."),
            fields={"period_end": [_("Give a day on or after the first day.")]},
        )
    existing = SpotCheckSample.objects.filter(plan=plan, period_start=period_start).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic(), audit_context(actor=actor, job=None if actor else "analytics"):
            # The plan's row lock makes a concurrent draw wait and then find this one; the
            # unique constraint is the backstop where rows cannot be locked (SQLite).
            plan = SpotCheckPlan.objects.select_for_update().get(pk=plan.pk)
            existing = SpotCheckSample.objects.filter(plan=plan, period_start=period_start).first()
            if existing is not None:
                return existing
            sample = SpotCheckSample(
                plan=plan, period_start=period_start, period_end=period_end,
                seed=seed or secrets.token_hex(16), algorithm=ALGORITHM_VERSION,
            )  # fmt: skip
            sample.save()
            model = record_model(plan.record_kind)
            candidates = population(plan, period_start, period_end, before_sample=sample.pk)
            sample.population_size = len(candidates)
            sample.save(update_fields=["population_size"])
            _items_create(sample, plan, model, candidates)
    except IntegrityError:
        # Another draw of the same plan and period committed first: that one stands.
        existing = SpotCheckSample.objects.filter(plan=plan, period_start=period_start).first()
        if existing is None:
            raise
        return existing
    return sample


def _items_create(
    sample: SpotCheckSample, plan: SpotCheckPlan, model: type[models.Model], candidates: list
) -> None:
    from medservice.tickets.models import Team

    content_type = ContentType.objects.get_for_model(model)
    managers = dict(Team.objects.filter(manager__isnull=False).values_list("pk", "manager_id"))
    picks = draw(candidates, seed=sample.seed, label=model_label(model), size=plan.size_per_stratum)
    for candidate, rank in picks:
        SpotCheckItem(
            sample=sample, content_type=content_type, object_id=candidate.pk,
            stratum_id=candidate.stratum_id, stratum_label=candidate.stratum_label[:200],
            engineer_id=candidate.engineer_id, rank=rank,
            reviewer_id=_reviewer_for(plan, candidate, managers),
        ).save()  # fmt: skip


def previous_month(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    end = today.replace(day=1) - datetime.timedelta(days=1)
    return end.replace(day=1), end


def spot_check_samples_monthly(*, today: datetime.date | None = None) -> int:
    """Draw last month's sample of every active plan that has none yet; the count drawn."""
    start, end = previous_month(today or timezone.localdate())
    drawn = 0
    for plan in SpotCheckPlan.objects.filter(active=True).order_by("pk"):
        if SpotCheckSample.objects.filter(plan=plan, period_start=start).exists():
            continue
        spot_check_sample_create(plan=plan, period_start=start, period_end=end)
        drawn += 1
    return drawn


def item_people(item: SpotCheckItem) -> set[int]:
    """Whose work the record is: the engineer when drawn, and the record's owner and engineer
    now (a request's owner; a work order's engineer and owner)."""
    people = {item.engineer_id} if item.engineer_id else set()
    record = item.record
    for field in ("owner_id", "engineer_id"):
        value = getattr(record, field, None)
        if value:
            people.add(value)
    return people


def _improvement_owner(item: SpotCheckItem) -> Any:
    """The team's manager (the request's team, or the work order's request's), else the
    plan's default reviewer."""
    record = item.record
    team = getattr(record, "team", None)
    if team is None and getattr(record, "ticket", None) is not None:
        team = record.ticket.team
    if team is not None and team.manager is not None and team.manager.is_active:
        return team.manager
    return item.sample.plan.default_reviewer


def spot_check_review(
    *, item: SpotCheckItem, actor: Any, answers: dict[str, str], severity: str, note: str = ""
) -> SpotCheckItem:
    """Record the review of a drawn record: an answer per checklist point, the finding and a
    note. Never by the record's own engineer. A major finding opens an improvement action
    (CAPA of kind improvement) owned by the team's manager, due in 30 days."""
    if not actor.has_perm("analytics.review_spotcheckitem"):
        raise PermissionDeniedError(_("You may not review spot-checked records."))
    if actor.pk in item_people(item):
        raise SegregationOfDutiesError(
            _("You cannot review your own work: another reviewer must check this record.")
        )
    problems = Problems()
    codes = list(item.sample.plan.checklist.values_list("code", flat=True))
    answers = answers if isinstance(answers, dict) else {}
    for code in codes:
        if answers.get(code) not in SpotCheckAnswer.values:
            problems.add(f"answers.{code}", _("Answer yes, no or not applicable."))
    unknown = sorted(set(answers) - set(codes))
    if unknown:
        problems.add("answers", _("Not points of this checklist: %(codes)s") % {
            "codes": ", ".join(unknown)})  # fmt: skip
    if severity not in SpotCheckSeverity.values:
        problems.add("severity", _("Choose no finding, minor or major."))
    note = (note or "").strip()
    if severity in (SpotCheckSeverity.MINOR, SpotCheckSeverity.MAJOR) and not note:
        problems.add("note", _("Describe the finding."))
    problems.raise_if_any(_("The review was not recorded."))
    with transaction.atomic(), audit_context(actor=actor):
        current = SpotCheckItem.objects.select_for_update().get(pk=item.pk)
        if current.reviewed_at is not None:
            raise ConflictError(_("This record has already been reviewed."))
        current.answers = {code: answers[code] for code in codes}
        current.severity = severity
        current.note = note
        current.reviewer = actor
        current.reviewed_at = timezone.now()
        current.save()
        if severity == SpotCheckSeverity.MAJOR:
            _improvement_open(current, actor)
    return current


def _improvement_open(item: SpotCheckItem, actor: Any) -> Any:
    from medservice.quality.capa import capa_open

    record = item.record
    label = _("Spot check %(sample)s: %(record)s") % {"sample": item.sample, "record": record}
    # The rule opens it, whoever reviewed: the reviewer's right to review is the right to
    # raise it (not the right to open any CAPA).
    return capa_open(
        actor=actor,
        permission="analytics.review_spotcheckitem",
        kind="improvement",
        problem=_("Major spot-check finding on %(record)s (%(stratum)s): %(note)s")
        % {"record": record, "stratum": item.stratum_label, "note": item.note},
        source=item,
        source_label=label,
        owner=_improvement_owner(item),
        due_on=timezone.localdate() + datetime.timedelta(days=IMPROVEMENT_DUE_DAYS),
    )
