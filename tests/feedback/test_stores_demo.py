"""The demo stores tell the story: a store with its notice, an answered entry, a quality-safety
entry that became a quality case, a missed and a done review, a waiting and a fulfilled
out-of-stock entry, and letters in the customer archive; a second run adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from medservice.accounts.models import User
from medservice.feedback.models import (
    Letter,
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
)
from medservice.feedback.selectors_stores import opinion_entries_visible_to
from medservice.feedback.services_stores import reviews_today

pytestmark = pytest.mark.django_db

MODELS = (StoreProfile, OpinionEntry, OpinionBookReview, MissedReview, ShortageEntry, Letter)


@override_settings(MEDSERVICE_DEMO=True)
def test_the_demo_seeds_the_stores_once_with_a_story():
    call_command("seed_demo")
    first = [model.objects.count() for model in MODELS]
    call_command("seed_demo")

    assert [model.objects.count() for model in MODELS] == first == [3, 4, 1, 1, 2, 2]
    case_entry = OpinionEntry.objects.get(category="quality_safety")
    assert case_entry.quality_case.source == "opinion_book"
    assert sorted(ShortageEntry.objects.values_list("status", flat=True)) == ["fulfilled", "open"]
    # The demo store staff work in the company's own shop: they land on its review for today.
    store_user = User.objects.get(username="store")
    assert [row["store"].name for row in reviews_today(store_user)] == ["康达医疗 南京路体验店"]
    assert [entry.store.name for entry in opinion_entries_visible_to(store_user)] == [
        "康达医疗 南京路体验店"
    ]
