"""Performance reviews (考核) and violations of the procedures (违规处理): a manager reviews a
period's figures with a score and comments, and finalises it (then it is fixed); a violation
is recorded and closed by recording how it was handled. A distributor's engineer sees only
their own."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.training.choices import ViolationStatus
from medservice.training.people import (
    review_create,
    review_finalise,
    review_update,
    violation_handle,
    violation_record,
)

QUARTER = {"period_start": datetime.date(2026, 1, 1), "period_end": datetime.date(2026, 3, 31)}


def review_of(manager, person, **extra):
    return review_create(
        actor=manager,
        data={
            "person": person,
            **QUARTER,
            "figures": {"visits": 42, "first_time_fix_rate": 0.93},
            "score": Decimal("86"),
            "comments": "响应及时",
            **extra,
        },
    )


def violation_of(manager, person, **extra):
    return violation_record(
        actor=manager,
        data={
            "person": person,
            "occurred_on": timezone.localdate() - datetime.timedelta(days=2),
            "description": "未按规定填写服务报告",
            "procedure_reference": "SP-07 4.2",
            **extra,
        },
    )


def test_a_manager_writes_a_review(manager, engineer):
    review = review_of(manager, engineer)
    assert review.reviewer == manager
    assert review.score == Decimal("86")
    assert review.figures == {"visits": 42, "first_time_fix_rate": 0.93}
    assert review.finalised_at is None


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"score": Decimal("101")}, "score"),
        ({"score": Decimal("-1")}, "score"),
        ({"figures": {"visits": "many"}}, "figures"),
        ({"figures": {"visits": True}}, "figures"),
        ({"figures": [1, 2]}, "figures"),
        ({"period_end": datetime.date(2025, 12, 31)}, "period_end"),
    ],
)
def test_bad_figures_scores_and_periods_are_refused(manager, engineer, extra, field):
    with pytest.raises(InvalidInputError) as refused:
        review_of(manager, engineer, **extra)
    assert field in refused.value.fields


def test_nobody_reviews_themselves_and_engineers_review_nobody(manager, engineer):
    with pytest.raises(InvalidInputError):
        review_of(manager, manager)
    with pytest.raises(PermissionDeniedError):
        review_of(engineer, manager)


def test_one_review_per_person_and_period(manager, engineer):
    review_of(manager, engineer)
    with pytest.raises(InvalidInputError) as refused:
        review_of(manager, engineer)
    assert "period_start" in refused.value.fields


def test_a_final_review_cannot_be_edited(manager, engineer):
    review = review_of(manager, engineer, score=None)
    with pytest.raises(InvalidInputError):
        review_finalise(actor=manager, review=review)  # no score yet

    review = review_update(actor=manager, instance=review, data={"score": Decimal("90")})
    review = review_finalise(actor=manager, review=review)
    assert review.finalised_at is not None

    with pytest.raises(InvalidTransitionError):
        review_update(actor=manager, instance=review, data={"comments": "改一下"})
    with pytest.raises(InvalidTransitionError):
        review_finalise(actor=manager, review=review)
    review.refresh_from_db()
    assert review.comments == "响应及时"


def test_a_violation_is_recorded_and_handled(manager, engineer):
    violation = violation_of(manager, engineer)
    assert violation.reported_by == manager
    assert violation.status == ViolationStatus.OPEN

    with pytest.raises(InvalidInputError) as refused:
        violation_handle(actor=manager, violation=violation, handling="  ")
    assert "handling" in refused.value.fields

    violation = violation_handle(actor=manager, violation=violation, handling="书面警告，重新培训")
    assert violation.status == ViolationStatus.HANDLED
    assert violation.handled_by == manager
    assert violation.handled_at is not None
    with pytest.raises(InvalidTransitionError):
        violation_handle(actor=manager, violation=violation, handling="again")


def test_a_violation_cannot_be_recorded_ahead_of_time(manager, engineer):
    with pytest.raises(InvalidInputError) as refused:
        violation_of(
            manager, engineer, occurred_on=timezone.localdate() + datetime.timedelta(days=1)
        )
    assert "occurred_on" in refused.value.fields


# --- Scoping, pages and API -----------------------------------------------------------------


def test_a_distributor_engineer_sees_only_their_own(client, api, manager, engineer, dist_engineer):
    own_review = review_of(manager, dist_engineer)
    other_review = review_of(manager, engineer)
    own_violation = violation_of(manager, dist_engineer)
    other_violation = violation_of(manager, engineer)

    client.force_login(dist_engineer)
    for name, own, other in (
        ("performance-reviews", own_review, other_review),
        ("violations", own_violation, other_violation),
    ):
        assert client.get(reverse(f"training:{name}-detail", args=[own.pk])).status_code == 200
        assert client.get(reverse(f"training:{name}-detail", args=[other.pk])).status_code == 404
        listed = api.as_user(dist_engineer).get(f"/api/v1/{name}/").json()["results"]
        assert [row["id"] for row in listed] == [own.pk]
        assert api.as_user(dist_engineer).get(f"/api/v1/{name}/{other.pk}/").status_code == 404
    # Reading is all they may do, even on their own records.
    handle = "training:violation-handle"
    own_url = reverse(handle, args=[own_violation.pk])
    other_url = reverse(handle, args=[other_violation.pk])
    assert client.post(own_url, {"handling": "自己处理"}).status_code == 403
    assert client.post(other_url, {"handling": "x"}).status_code == 404


def test_the_pages_finalise_and_handle(client, manager, engineer):
    review = review_of(manager, engineer)
    violation = violation_of(manager, engineer)
    client.force_login(manager)

    page = client.get(reverse("training:performance-reviews-detail", args=[review.pk]))
    assert b'data-action="finalise"' in page.content
    url = reverse("training:performance-review-finalise", args=[review.pk])
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 409
    edit = client.post(
        reverse("training:performance-reviews-edit", args=[review.pk]),
        {"person": engineer.pk, "period_start": "2026-01-01", "period_end": "2026-03-31",
         "figures": "{}", "score": "50", "comments": "x"},
    )  # fmt: skip
    assert edit.status_code == 409

    url = reverse("training:violation-handle", args=[violation.pk])
    assert client.post(url, {"handling": ""}).status_code == 400
    assert client.post(url, {"handling": "口头警告"}).status_code == 302
    violation.refresh_from_db()
    assert violation.status == ViolationStatus.HANDLED


def test_the_new_review_page_saves_a_review(client, manager, engineer):
    client.force_login(manager)
    response = client.post(
        reverse("training:performance-reviews-create"),
        {"person": engineer.pk, "period_start": "2026-01-01", "period_end": "2026-03-31",
         "figures": '{"visits": 42}', "score": "88", "comments": "良好"},
    )  # fmt: skip
    assert response.status_code == 302
    assert engineer.performance_reviews.get().reviewer == manager


def test_the_api_creates_finalises_and_handles(api, manager, engineer):
    as_manager = api.as_user(manager)
    created = as_manager.post(
        "/api/v1/performance-reviews/",
        {"person": engineer.pk, **{k: v.isoformat() for k, v in QUARTER.items()},
         "figures": {"visits": 42}, "score": "88.5", "comments": "良好"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    review_id = created.json()["id"]
    assert created.json()["reviewer"] == manager.pk
    bad = as_manager.patch(
        f"/api/v1/performance-reviews/{review_id}/", {"score": 120}, format="json"
    )
    assert bad.status_code == 400
    assert "score" in bad.json()["error"]["fields"]
    assert as_manager.post(f"/api/v1/performance-reviews/{review_id}/finalise/").status_code == 200
    refused = as_manager.patch(
        f"/api/v1/performance-reviews/{review_id}/", {"comments": "x"}, format="json"
    )
    assert refused.status_code == 409

    recorded = as_manager.post(
        "/api/v1/violations/",
        {"person": engineer.pk, "occurred_on": timezone.localdate().isoformat(),
         "description": "未佩戴工牌"},
        format="json",
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.json()
    violation_id = recorded.json()["id"]
    assert recorded.json()["reported_by"] == manager.pk
    url = f"/api/v1/violations/{violation_id}/handle/"
    missing = as_manager.post(url, {}, format="json")
    assert missing.status_code == 400
    assert "handling" in missing.json()["error"]["fields"]
    handled = as_manager.post(url, {"handling": "口头警告"}, format="json")
    assert handled.status_code == 200
    assert handled.json()["status"] == "handled"
    assert as_manager.post(url, {"handling": "again"}, format="json").status_code == 409
