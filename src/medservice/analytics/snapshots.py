"""Stored KPI figures: what the KPI page, `GET /api/v1/kpis/` and the charts show, with their
age (decision 0013, point 4).

Computing the 23 KPIs from the source tables takes seconds once there are a million requests,
so a figure, once computed, is kept as a `KpiSnapshot` for the users who see the same records
(the same scope, organisation and permissions: `audience_key`), the same period, filters and
language. A reader gets the stored figure while it is younger than
`ANALYTICS_SNAPSHOT_MAX_AGE` and sees when it was computed; otherwise, or when they ask for
it (`fresh`), the figure is computed live and stored. The job `analytics.kpi-snapshots`
recomputes every five minutes the figures someone read in the last day, so readers rarely
wait; a figure for "this month up to today" moves on to the new day (and month) as it does.

Under load a figure is never computed inside a request (docs/performance.md, "Load test"):
`kpi_figures_or_pending` answers the stored figures when every one is young enough, and
otherwise asks the task `kpi_figures_compute` to compute them (one `KpiComputation` per
audience, filter and KPI set, however many readers miss them) and answers `KpiPending`: the
page says it reloads itself, the API answers 202. `ANALYTICS_SNAPSHOT_MAX_AGE = 0` keeps
computing in the request (installs without a worker, and the tests).

The drill-down (the records behind a figure) and the evaluation reports are always computed
live: the first needs the records themselves, the second freezes its figures at its `as_of`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from medservice.analytics.kpis import (
    KPIS,
    BreakdownRow,
    KpiFilter,
    KpiResult,
    kpi_compute,
    verdict,
)
from medservice.analytics.models import KpiComputation, KpiSnapshot
from medservice.analytics.selectors import targets_for
from medservice.customers.selectors import user_scope

# The job runs every five minutes; a figure computed less than this long ago is left alone.
REFRESH_AFTER = datetime.timedelta(minutes=4)
# Figures nobody read for a day are no longer refreshed, and for a month are dropped.
KEEP_REFRESHING = datetime.timedelta(days=1)
KEEP = datetime.timedelta(days=30)
# Writing "read now" on every page view would turn each read into a write.
READ_MARK_EVERY = datetime.timedelta(minutes=1)
# A computation asked for this long ago that never finished was lost (a worker died, the queue
# was flushed): the next reader asks again, and the task drops it if it ever comes.
COMPUTATION_LOST_AFTER = datetime.timedelta(minutes=10)
# `fresh`: a stored figure this young is fresh enough (a reader pressing "recompute" twice
# must not queue the whole set twice).
FRESH_MAX_AGE = datetime.timedelta(minutes=1)
# Seconds a reader is told to wait before asking again (Retry-After, the page's Refresh).
RETRY_AFTER = 5
FIGURE_FIELDS = ("value", "numerator", "denominator", "median", "p90", "mean")


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def audience_key(user: Any) -> str:
    """Users with the same scope, organisation (outside the company) and permissions see the
    same records in every KPI (kpis.scoped and the selectors it uses read nothing else), so
    they share figures."""
    scope = user_scope(user)
    organization = None if scope == "internal" else user.organization_id
    permissions = ["*"] if user.is_superuser else sorted(user.get_all_permissions())
    return _digest([scope, organization, permissions])


def _parameters(kpi_filter: KpiFilter) -> dict[str, Any]:
    return {
        "region": kpi_filter.region,
        "organization_id": kpi_filter.organization_id,
        "device_model_id": kpi_filter.device_model_id,
        "engineer_id": kpi_filter.engineer_id,
        "team_id": kpi_filter.team_id,
        "extra": dict(sorted(kpi_filter.extra.items())),
    }


def filter_key(kpi_filter: KpiFilter, language: str) -> str:
    """The period, the filters and the language (notes are stored as written)."""
    return _digest(
        [kpi_filter.start.isoformat(), kpi_filter.end.isoformat(), _parameters(kpi_filter),
         language]
    )  # fmt: skip


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def figure_of(result: KpiResult) -> dict[str, Any]:
    """What is stored of a computed figure: the numbers, the breakdown and the notes (the
    target and the verdict are looked up when it is shown, so a changed target shows)."""
    stored: dict[str, Any] = {name: _text(getattr(result, name)) for name in FIGURE_FIELDS}
    stored["breakdown"] = [
        [row.key, str(row.label), _text(row.numerator), _text(row.denominator), _text(row.value)]
        for row in result.breakdown
    ]
    stored["notes"] = [str(note) for note in result.notes]
    stored["provisional_until"] = (
        result.provisional_until.isoformat() if result.provisional_until else None
    )
    # The moment the figure describes: usually when it was computed, but a recall's progress
    # is judged at the end of a past period.
    stored["as_of"] = result.as_of.isoformat() if result.as_of else None
    return stored


def result_of(snapshot: KpiSnapshot, target: Any) -> KpiResult:
    """The stored figure as a result the pages show like a computed one (without records),
    judged against the target that applies now."""
    stored = snapshot.figure
    result = KpiResult(
        code=snapshot.code, value=_decimal(stored["value"]), records=None,
        **{name: _decimal(stored[name]) for name in FIGURE_FIELDS if name != "value"},
        breakdown=[
            BreakdownRow(key, label, _decimal(numerator), _decimal(denominator), _decimal(value))
            for key, label, numerator, denominator, value in stored["breakdown"]
        ],
        notes=list(stored["notes"]),
        provisional_until=datetime.date.fromisoformat(stored["provisional_until"])
        if stored["provisional_until"] else None,
        as_of=datetime.datetime.fromisoformat(stored["as_of"]) if stored.get("as_of")
        else snapshot.computed_at,
        source="snapshot", stored_at=snapshot.computed_at,
    )  # fmt: skip
    result.target = target
    result.verdict = verdict(result.value, result.target)
    return result


def _compute_and_store(
    codes: Iterable[str], kpi_filter: KpiFilter, *, read_at: datetime.datetime
) -> list[KpiResult]:
    """Compute the figures live and store them, replacing what was stored for the same key."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    audience = audience_key(kpi_filter.user)
    key = filter_key(kpi_filter, language)
    results: list[KpiResult] = []
    rows: list[KpiSnapshot] = []
    for code in codes:
        started = time.perf_counter()
        computed_at = timezone.now()
        result = kpi_compute(code, kpi_filter)
        results.append(result)
        rows.append(
            KpiSnapshot(
                code=code, audience=audience, filter_key=key, language=language,
                user=kpi_filter.user, start=kpi_filter.start, end=kpi_filter.end,
                parameters=_parameters(kpi_filter), figure=figure_of(result),
                computed_at=computed_at,
                compute_ms=round((time.perf_counter() - started) * 1000), read_at=read_at,
            )
        )  # fmt: skip
    if rows:
        # Two readers missing the same figure at once both compute it; the later write wins
        # and both figures are right for their moment.
        KpiSnapshot.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["code", "audience", "filter_key"],
            update_fields=["language", "user", "start", "end", "parameters", "figure",
                           "computed_at", "compute_ms", "read_at"],
        )  # fmt: skip
    return results


def kpi_figures(
    codes: Sequence[str], kpi_filter: KpiFilter, *, fresh: bool = False
) -> list[KpiResult]:
    """The figures of these KPIs for this filter, in order: stored ones while they are young
    enough (`result.source == "snapshot"`, `result.as_of` says when they were computed), the
    others computed now and stored. `fresh` computes every one now. A filter with its own
    `as_of` (a moment in the past) is always computed live and not stored."""
    max_age = settings.ANALYTICS_SNAPSHOT_MAX_AGE
    if kpi_filter.as_of is not None or max_age <= 0:
        return [kpi_compute(code, kpi_filter) for code in codes]
    for code in codes:
        if not KPIS[code].available_to(kpi_filter.user):
            raise PermissionError(code)
    now = timezone.now()
    stored: dict[str, KpiSnapshot] = {}
    if not fresh:
        language = translation.get_language() or settings.LANGUAGE_CODE
        stored = {
            snapshot.code: snapshot
            for snapshot in KpiSnapshot.objects.filter(
                audience=audience_key(kpi_filter.user),
                filter_key=filter_key(kpi_filter, language),
                code__in=list(codes),
                computed_at__gte=now - datetime.timedelta(seconds=max_age),
            )
        }
    missing = [code for code in codes if code not in stored]
    computed = dict(zip(missing, _compute_and_store(missing, kpi_filter, read_at=now), strict=True))
    stale_marks = [snapshot.pk for snapshot in stored.values()
                   if snapshot.read_at < now - READ_MARK_EVERY]  # fmt: skip
    if stale_marks:
        KpiSnapshot.objects.filter(pk__in=stale_marks).update(read_at=now)
    targets = targets_for(list(stored), kpi_filter) if stored else {}
    return [
        computed[code] if code in computed else result_of(stored[code], targets[code])
        for code in codes
    ]


# Chart series the task computes beside the KPI figures (charts.stored_series), by the name a
# computation lists them under ("chart:<name>"): registered by the charts module.
SERIES: dict[str, Any] = {}
SERIES_PREFIX = "chart:"


@dataclass(frozen=True)
class KpiPending:
    """The figures asked for are being computed in the background: ask again later."""

    requested_at: datetime.datetime
    retry_after: int = RETRY_AFTER


def codes_key(codes: Iterable[str]) -> str:
    """The set of KPIs asked for, whatever their order."""
    return _digest(sorted(set(codes)))


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def kpi_figures_or_pending(
    codes: Sequence[str], kpi_filter: KpiFilter, *, fresh: bool = False
) -> list[KpiResult] | KpiPending:
    """The stored figures of these KPIs, in order, when every one is young enough (at most
    ANALYTICS_SNAPSHOT_MAX_AGE old, or one minute with `fresh`); otherwise `KpiPending`, after
    asking the background task to compute them. Never computes a figure itself, except where
    figures are not stored (ANALYTICS_SNAPSHOT_MAX_AGE = 0, a filter at a past moment)."""
    max_age = settings.ANALYTICS_SNAPSHOT_MAX_AGE
    if kpi_filter.as_of is not None or max_age <= 0:
        return kpi_figures(codes, kpi_filter, fresh=fresh)
    for code in codes:
        if not KPIS[code].available_to(kpi_filter.user):
            raise PermissionError(code)
    now = timezone.now()
    young = datetime.timedelta(seconds=max_age)
    if fresh:
        young = min(young, FRESH_MAX_AGE)
    language = _language()
    audience = audience_key(kpi_filter.user)
    key = filter_key(kpi_filter, language)
    stored = {
        snapshot.code: snapshot
        for snapshot in KpiSnapshot.objects.filter(
            audience=audience, filter_key=key, code__in=list(codes),
            computed_at__gte=now - young,
        )
    }  # fmt: skip
    if any(code not in stored for code in codes):
        return kpi_computation_request(
            codes, kpi_filter, audience=audience, key=key, language=language, now=now
        )
    stale_marks = [snapshot.pk for snapshot in stored.values()
                   if snapshot.read_at < now - READ_MARK_EVERY]  # fmt: skip
    if stale_marks:
        KpiSnapshot.objects.filter(pk__in=stale_marks).update(read_at=now)
    targets = targets_for(list(stored), kpi_filter)
    return [result_of(stored[code], targets[code]) for code in codes]


def kpi_computation_request(
    codes: Sequence[str],
    kpi_filter: KpiFilter,
    *,
    audience: str,
    key: str,
    language: str,
    now: datetime.datetime,
) -> KpiPending:
    """Ask for these figures to be computed, once: a computation already running for the
    same audience, filter and KPI set is waited for; one that finished (its figures have aged
    since) or was lost (COMPUTATION_LOST_AFTER) is asked for again."""
    computation, created = KpiComputation.objects.get_or_create(
        audience=audience, filter_key=key, codes_key=codes_key(codes),
        defaults={
            "language": language, "codes": sorted(set(codes)), "user": kpi_filter.user,
            "start": kpi_filter.start, "end": kpi_filter.end,
            "parameters": _parameters(kpi_filter), "requested_at": now,
        },
    )  # fmt: skip
    if not created:
        running = computation.finished_at is None
        if running and computation.requested_at >= now - COMPUTATION_LOST_AFTER:
            return KpiPending(requested_at=computation.requested_at)
        # Two readers may find it finished or lost at once: only the one whose update lands
        # asks again (the other waits for that computation).
        asked_again = KpiComputation.objects.filter(
            pk=computation.pk, requested_at=computation.requested_at,
            finished_at=computation.finished_at,
        ).update(requested_at=now, finished_at=None, user=kpi_filter.user)  # fmt: skip
        if not asked_again:
            computation.refresh_from_db(fields=["requested_at"])
            return KpiPending(requested_at=computation.requested_at)
    _enqueue(computation.pk, now)
    return KpiPending(requested_at=now)


def _enqueue(computation_id: int, requested_at: datetime.datetime) -> None:
    from medservice.analytics.tasks_snapshots import kpi_figures_compute

    transaction.on_commit(
        lambda: kpi_figures_compute.enqueue(computation_id, requested_at.isoformat())
    )


def kpi_computation_run(
    *, computation_id: int, requested_at: str, now: datetime.datetime | None = None
) -> int:
    """Compute and store the figures a reader asked for, as the user who asked, in their
    language. A computation asked for again since (`requested_at` differs), gone, or expired
    (lost: the next reader has asked again, or will) is dropped. Returns how many figures it
    computed."""
    now = now or timezone.now()
    computation = (
        KpiComputation.objects.select_related("user", "user__organization")
        .filter(pk=computation_id, finished_at__isnull=True)
        .first()
    )
    if computation is None or computation.requested_at.isoformat() != requested_at:
        return 0
    if computation.requested_at < now - COMPUTATION_LOST_AFTER:
        computation.delete()
        return 0
    user = computation.user
    if not user.is_active or audience_key(user) != computation.audience:
        # The user's scope changed since: the figures would be filed under the wrong audience.
        computation.delete()
        return 0
    codes = [code for code in computation.codes
             if code in KPIS and KPIS[code].available_to(user)]  # fmt: skip
    series = [code.removeprefix(SERIES_PREFIX) for code in computation.codes
              if code.startswith(SERIES_PREFIX)]  # fmt: skip
    if series:
        # The chart series register themselves when the charts module is imported, which a
        # worker process (no URLconf loaded) has not done; imported here, as charts imports
        # this module.
        from medservice.analytics import charts  # noqa: F401
    kpi_filter = _filter_from(user, computation.start, computation.end, computation.parameters)
    with translation.override(computation.language):
        _compute_and_store(codes, kpi_filter, read_at=now)
        for name in series:
            if name in SERIES:
                SERIES[name](kpi_filter)
    KpiComputation.objects.filter(pk=computation.pk, requested_at=computation.requested_at).update(
        finished_at=timezone.now()
    )
    return len(codes) + len(series)


def _filter_for(snapshot: KpiSnapshot, now: datetime.datetime) -> KpiFilter:
    """The filter to recompute a stored figure with: the same one, except that "this month up
    to today" (the pages' default) moves on to the new day, and into the new month."""
    start, end = snapshot.start, snapshot.end
    computed_on = timezone.localtime(snapshot.computed_at).date()
    today = timezone.localtime(now).date()
    if end == computed_on and start == end.replace(day=1) and today > end:
        start, end = today.replace(day=1), today
    return _filter_from(snapshot.user, start, end, snapshot.parameters)


def _filter_from(
    user: Any, start: datetime.date, end: datetime.date, parameters: dict[str, Any]
) -> KpiFilter:
    """A filter rebuilt from what `_parameters` stored."""
    return KpiFilter(
        user=user, start=start, end=end, region=parameters.get("region", ""),
        organization_id=parameters.get("organization_id"),
        device_model_id=parameters.get("device_model_id"),
        engineer_id=parameters.get("engineer_id"), team_id=parameters.get("team_id"),
        extra=parameters.get("extra", {}),
    )  # fmt: skip


def snapshots_refresh(*, now: datetime.datetime | None = None, budget: float | None = None) -> int:
    """Recompute the stored figures read in the last day and computed over four minutes ago,
    oldest first, for at most `budget` seconds; drop those nobody read for a month, and those
    whose user left or no longer sees what they saw. Returns how many figures it computed."""
    now = now or timezone.now()
    budget = settings.ANALYTICS_SNAPSHOT_BUDGET if budget is None else budget
    KpiSnapshot.objects.filter(read_at__lt=now - KEEP).delete()
    # Computations asked for over a day ago are done or lost: a reader asks again if needed.
    KpiComputation.objects.filter(requested_at__lt=now - KEEP_REFRESHING).delete()
    due = (
        KpiSnapshot.objects.filter(
            read_at__gte=now - KEEP_REFRESHING, computed_at__lt=now - REFRESH_AFTER
        )
        .select_related("user", "user__organization")
        .order_by("computed_at", "pk")
    )
    groups: dict[tuple[str, str], list[KpiSnapshot]] = {}
    for snapshot in due:
        groups.setdefault((snapshot.audience, snapshot.filter_key), []).append(snapshot)
    began = time.monotonic()
    computed = 0
    for (audience, key), snapshots in groups.items():
        if time.monotonic() - began > budget:
            break
        first = snapshots[0]
        user = first.user
        if user is None or not user.is_active or audience_key(user) != audience:
            KpiSnapshot.objects.filter(pk__in=[snapshot.pk for snapshot in snapshots]).delete()
            continue
        codes = [snapshot.code for snapshot in snapshots
                 if snapshot.code in KPIS and KPIS[snapshot.code].available_to(user)]  # fmt: skip
        kpi_filter = _filter_for(first, now)
        read_at = max(snapshot.read_at for snapshot in snapshots)
        with translation.override(first.language):
            _compute_and_store(codes, kpi_filter, read_at=read_at)
        computed += len(codes)
        # Figures that moved on to a new day, or that the user may no longer see, leave.
        leaving = [snapshot.pk for snapshot in snapshots
                   if snapshot.code not in codes or filter_key(kpi_filter, first.language) != key]  # fmt: skip
        KpiSnapshot.objects.filter(pk__in=leaving).delete()
    return computed


def stored_age(result: KpiResult, now: datetime.datetime | None = None) -> int | None:
    """Seconds since a stored figure was computed; None for one computed just now."""
    if result.stored_at is None:
        return None
    return max(0, int(((now or timezone.now()) - result.stored_at).total_seconds()))
