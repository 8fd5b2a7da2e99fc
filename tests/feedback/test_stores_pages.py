"""The store staff's pages: today's review on the home page, the opinion book and the
out-of-stock register as lists, forms and record pages; a form's refusal names the field."""

# The shared fixtures are imported by name (the app's conftest belongs to both areas), so the
# test arguments "redefine" them: that is how pytest fixtures work.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.utils import timezone

from medservice.feedback.models import OpinionBookReview, OpinionEntry, ShortageEntry
from tests.feedback.factories_stores import (
    MissedReviewFactory,
    OpinionEntryFactory,
    ShortageEntryFactory,
)
from tests.feedback.fixtures_stores import (  # noqa: F401  (fixtures)
    chain,
    profile,
    quality_staff,
    store,
    store_staff,
)

pytestmark = pytest.mark.django_db


def test_store_staff_see_todays_review_and_record_it(client, profile, store, store_staff):
    client.force_login(store_staff)
    from django.urls import reverse

    # The home panel (store staff of a customer store land on the portal; the panel is core's).
    from medservice.core.registry import home_panels_for

    class Request:
        user = store_staff

    panel = next(p for p in home_panels_for(Request()) if p["name"] == "feedback-store-reviews")
    assert [item["store"] for item in panel["stores"]] == [store]
    assert panel["stores"][0]["review"] is None

    response = client.post(reverse("feedback:opinion-reviews-create"), {
        "store": store.pk, "findings": "无质量安全问题",
    })  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    review = OpinionBookReview.objects.get()
    assert review.reviewed_by == store_staff
    assert review.day == timezone.localdate()


def test_the_entry_form_records_and_names_problems(client, store, store_staff):
    client.force_login(store_staff)
    empty = client.post("/feedback/opinion-entries/new/", {"store": store.pk})
    assert empty.status_code == 400
    assert not OpinionEntry.objects.exists()

    saved = client.post("/feedback/opinion-entries/new/", {
        "store": store.pk, "entry_date": timezone.localdate().isoformat(),
        "category": "product", "content": "希望增加血糖试纸规格", "customer_phone": "13918807766",
    })  # fmt: skip
    assert saved.status_code == 302
    entry = OpinionEntry.objects.get()
    page = client.get(saved["Location"]).content.decode()
    assert entry.number in page and "139****7766" in page and "13918807766" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/feedback/opinion-entries/",
        "/feedback/opinion-entries/new/",
        "/feedback/opinion-reviews/",
        "/feedback/opinion-reviews/new/",
        "/feedback/missed-reviews/",
        "/feedback/shortage-entries/",
        "/feedback/shortage-entries/new/",
        "/feedback/store-profiles/",
    ],
)
def test_store_pages_answer(client, profile, store_staff, path):
    OpinionEntryFactory(store=profile.store)
    ShortageEntryFactory(store=profile.store)
    MissedReviewFactory(store=profile.store)
    client.force_login(store_staff)
    assert client.get(path).status_code == 200


def test_a_shortage_is_closed_from_its_page(client, store, store_staff):
    entry = ShortageEntryFactory(store=store)
    client.force_login(store_staff)

    page = client.get(f"/feedback/shortage-entries/{entry.pk}/").content.decode()
    closed = client.post(f"/feedback/shortage-entries/{entry.pk}/close/",
                         {"status": "fulfilled", "note": "已取货"})  # fmt: skip

    assert "Close the entry" in page
    assert closed.status_code == 302
    assert ShortageEntry.objects.get().status == "fulfilled"


def test_the_profile_page_links_the_notice(client, profile, quality_staff):
    client.force_login(quality_staff)
    page = client.get(f"/feedback/store-profiles/{profile.pk}/").content.decode()
    assert f"/feedback/store-profiles/{profile.pk}/notice/" in page


def test_quality_staff_pages_answer(client, profile, quality_staff):
    client.force_login(quality_staff)
    for path in ("/feedback/correspondence/", "/feedback/correspondence/new/",
                 "/feedback/correspondence/from-email/", "/feedback/store-profiles/new/"):  # fmt: skip
        assert client.get(path).status_code == 200, path
