"""The opinion book is read every day (SOP 2: 每天都要查看顾客意见簿): a store whose book was not
reviewed by its closing time is recorded once for that day and its manager is told; the days
are Shanghai's."""

# The shared fixtures are imported by name (the app's conftest belongs to both areas), so the
# test arguments "redefine" them: that is how pytest fixtures work.
# ruff: noqa: F811

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.test import override_settings
from freezegun import freeze_time

from medservice.core.models import Notification
from medservice.feedback.models import MissedReview, OpinionBookReview
from medservice.feedback.services_stores import missed_reviews_sweep, opinion_review_record
from tests.feedback.factories_stores import StoreProfileFactory
from tests.feedback.fixtures_stores import (  # noqa: F401  (fixtures)
    chain,
    other_store,
    other_store_staff,
    quality_staff,
    store,
    store_staff,
)

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime.datetime:
    """A Shanghai wall-clock time."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def kept_since_february(store, store_staff):
    """The store's book has been kept in the system since 1 February (default deadline 20:00)."""
    return StoreProfileFactory(store=store, manager=store_staff, created_at=at("2026-02-01 09:00"))


def review(store, user, when: str) -> OpinionBookReview:
    with freeze_time(at(when)):
        return opinion_review_record(
            actor=user, data={"store": store, "findings": "无质量安全问题"}
        )


def test_a_book_not_reviewed_by_the_deadline_is_recorded_once_and_the_manager_told(
    kept_since_february, store, store_staff
):
    # Given the store reviewed its book on 2 March but not on 3 March
    review(store, store_staff, "2026-03-02 10:00")

    # When the check runs after the deadline on 3 March, twice (two schedulers)
    first = missed_reviews_sweep(now=at("2026-03-03 20:05"))
    second = missed_reviews_sweep(now=at("2026-03-03 20:20"))

    # Then 3 March is missed (and the days before 2 March in the catch-up window), once
    assert second == 0
    days = set(MissedReview.objects.values_list("day", flat=True))
    assert datetime.date(2026, 3, 3) in days
    assert datetime.date(2026, 3, 2) not in days
    assert first == len(days) == 7 - 1  # 25 Feb .. 3 Mar, but 2 Mar was reviewed
    told = Notification.objects.filter(recipient=store_staff)
    assert told.count() == first
    assert "2026-03-03" in told.order_by("-id").first().subject


def test_before_the_deadline_nothing_is_missed(kept_since_february, store, store_staff):
    # Given every day up to 2 March was reviewed
    for day in range(25, 29):
        review(store, store_staff, f"2026-02-{day:02d} 09:00")
    for day in (1, 2):
        review(store, store_staff, f"2026-03-{day:02d} 09:00")

    # When the check runs one second before 20:00 on 3 March, and at 20:00 exactly
    before = missed_reviews_sweep(now=at("2026-03-03 19:59:59"))
    on_time = missed_reviews_sweep(now=at("2026-03-03 20:00:00"))

    # Then the first finds nothing, the second records 3 March
    assert before == 0
    assert on_time == 1
    assert list(MissedReview.objects.values_list("day", flat=True)) == [datetime.date(2026, 3, 3)]


def test_a_reviewed_day_is_not_missed(kept_since_february, store, store_staff):
    review(store, store_staff, "2026-02-08 19:30")

    missed_reviews_sweep(now=at("2026-02-08 21:00"))

    assert not MissedReview.objects.filter(day=datetime.date(2026, 2, 8)).exists()


def test_the_day_is_shanghais_not_utcs(kept_since_february, store, store_staff):
    # Given a review at 00:30 on 4 March in Shanghai (16:30 UTC on 3 March)
    recorded = review(store, store_staff, "2026-03-04 00:30")

    # Then it is 4 March's review, and 3 March stays unreviewed
    assert recorded.day == datetime.date(2026, 3, 4)
    missed_reviews_sweep(now=at("2026-03-04 20:30"))
    days = set(MissedReview.objects.values_list("day", flat=True))
    assert datetime.date(2026, 3, 3) in days
    assert datetime.date(2026, 3, 4) not in days


def test_a_review_after_the_deadline_does_not_undo_the_miss(
    kept_since_february, store, store_staff
):
    review(store, store_staff, "2026-03-03 23:59")

    missed_reviews_sweep(now=at("2026-03-04 00:10"))

    assert MissedReview.objects.filter(day=datetime.date(2026, 3, 3)).exists()


def test_the_store_closing_time_is_its_deadline(store, store_staff):
    StoreProfileFactory(store=store, closes_at=datetime.time(21, 30),
                        created_at=at("2026-03-03 08:00"))  # fmt: skip

    assert missed_reviews_sweep(now=at("2026-03-03 21:29")) == 0
    assert missed_reviews_sweep(now=at("2026-03-03 21:31")) == 1


@override_settings(FEEDBACK_OPINION_REVIEW_DEADLINE="18:00")
def test_the_default_deadline_is_a_setting(store, store_staff):
    StoreProfileFactory(store=store, created_at=at("2026-03-03 08:00"))

    assert missed_reviews_sweep(now=at("2026-03-03 17:59")) == 0
    assert missed_reviews_sweep(now=at("2026-03-03 18:00")) == 1


def test_a_store_reviews_its_book_once_a_day(store, store_staff):
    review(store, store_staff, "2026-03-03 09:00")

    with pytest.raises(Exception) as refused:
        review(store, store_staff, "2026-03-03 15:00")

    assert "already reviewed today" in str(refused.value.message)
    assert OpinionBookReview.objects.count() == 1


def test_store_staff_review_only_their_own_store(api, store, other_store, store_staff):
    response = api.as_user(store_staff).post(
        "/api/v1/opinion-reviews/", {"store": other_store.pk, "findings": "无"}, format="json"
    )
    assert response.status_code == 400
    assert "store" in response.json()["error"]["fields"]
    assert not OpinionBookReview.objects.exists()


def test_an_empty_finding_is_refused(api, store, store_staff):
    response = api.as_user(store_staff).post(
        "/api/v1/opinion-reviews/", {"store": store.pk, "findings": "  "}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["findings"]


def test_the_periodic_job_is_registered():
    from medservice.core.scheduler import JOBS

    assert JOBS["feedback.opinion-review-check"].every == datetime.timedelta(minutes=15)
