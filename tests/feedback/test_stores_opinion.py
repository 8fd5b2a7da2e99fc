"""The customer opinion book (顾客意见簿): store staff record entries in their own store's book;
a quality-safety entry becomes a quality case (source: opinion book) at once, and quality staff
can turn another entry into one; customers' phones are masked."""

# The shared fixtures are imported by name (the app's conftest belongs to both areas), so the
# test arguments "redefine" them: that is how pytest fixtures work.
# ruff: noqa: F811

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from medservice.core.models import AuditEvent, Notification
from medservice.feedback.models import OpinionEntry
from medservice.installed_base.services import hold_active_for
from medservice.quality.models import QualityCase
from tests.feedback.factories_stores import OpinionEntryFactory
from tests.feedback.fixtures_stores import (  # noqa: F401  (fixtures)
    chain,
    other_store,
    other_store_staff,
    quality_staff,
    store,
    store_staff,
)
from tests.installed_base.factories import BatchModelFactory

pytestmark = pytest.mark.django_db


def entry_body(store, **changes):
    return {
        "store": store.pk, "entry_date": timezone.localdate().isoformat(),
        "category": "service", "content": "店员讲解很耐心", "customer_name": "刘女士",
        "customer_phone": "139-1880-7766", **changes,
    }  # fmt: skip


def test_store_staff_record_an_entry_and_the_phone_comes_back_masked(api, store, store_staff):
    response = api.as_user(store_staff).post(
        "/api/v1/opinion-entries/", entry_body(store), format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("OB-")
    assert body["customer_phone"] == "139****7766"
    assert body["customer_name"] == "刘**"
    assert body["quality_case"] is None
    entry = OpinionEntry.objects.get()
    assert entry.customer_phone == "139-1880-7766"
    assert entry.recorded_by == store_staff
    assert entry.retain_until == entry.entry_date.replace(year=entry.entry_date.year + 5)


def test_a_quality_safety_entry_opens_a_quality_case_and_holds_the_batch_as_any_case(
    api, store, store_staff, quality_staff
):
    # Given test strips of batch G2605-0317 sold in the store
    strips = BatchModelFactory(name="血糖试纸", model_spec="KD-GS100")

    # When store staff record a quality-safety entry about that batch
    response = api.as_user(store_staff).post("/api/v1/opinion-entries/", entry_body(
        store, category="quality_safety", content="试纸测出的血糖比医院高很多",
        device_model=strips.pk, batch_number="G2605-0317", product_text="血糖试纸",
    ), format="json")  # fmt: skip

    # Then a quality case from the opinion book is open, linked both ways
    assert response.status_code == 201, response.json()
    case = QualityCase.objects.get()
    entry = OpinionEntry.objects.get()
    assert response.json()["quality_case"] == case.pk
    assert entry.quality_case == case
    assert list(case.opinion_entries.all()) == [entry]
    assert case.source == "opinion_book"
    assert case.organization == store
    assert case.device_model == strips
    assert case.batch_number == "G2605-0317"
    assert case.complainant_phone == "139-1880-7766"
    assert "试纸测出的血糖比医院高很多" in case.description
    assert case.awareness_at <= timezone.now()
    # and the batch is on hold for the case's review, as for every quality case
    hold = hold_active_for(device_model=strips, batch_number="G2605-0317")
    assert hold is not None and hold.source == case.number
    # and the quality staff are told
    assert Notification.objects.filter(
        recipient=quality_staff, link__contains=str(case.pk)
    ).exists()


def test_an_entry_without_a_product_opens_a_case_and_holds_nothing(api, store, store_staff):
    api.as_user(store_staff).post(
        "/api/v1/opinion-entries/", entry_body(store, category="quality_safety"), format="json"
    )
    case = QualityCase.objects.get()
    assert case.device_model is None
    from medservice.installed_base.models import Hold

    assert not Hold.objects.exists()


def test_quality_staff_turn_an_entry_into_a_case_once(api, store, quality_staff):
    entry = OpinionEntryFactory(store=store, category="product", content="血压计袖带漏气")
    client = api.as_user(quality_staff)

    first = client.post(f"/api/v1/opinion-entries/{entry.pk}/to-quality-case/")
    second = client.post(f"/api/v1/opinion-entries/{entry.pk}/to-quality-case/")

    assert first.status_code == 200, first.json()
    assert first.json()["category"] == "quality_safety"
    assert second.status_code == 409
    assert QualityCase.objects.filter(source="opinion_book").count() == 1


def test_store_staff_may_not_open_a_case_themselves(api, store, store_staff):
    entry = OpinionEntryFactory(store=store, category="product")
    response = api.as_user(store_staff).post(f"/api/v1/opinion-entries/{entry.pk}/to-quality-case/")
    assert response.status_code == 403
    assert not QualityCase.objects.exists()


def test_store_staff_reach_only_their_own_store(api, store, other_store, store_staff):
    mine = OpinionEntryFactory(store=store)
    theirs = OpinionEntryFactory(store=other_store)
    client = api.as_user(store_staff)

    listed = {row["id"] for row in client.get("/api/v1/opinion-entries/").json()["results"]}
    assert listed == {mine.pk}
    assert client.get(f"/api/v1/opinion-entries/{theirs.pk}/").status_code == 404
    refused = client.post("/api/v1/opinion-entries/", entry_body(other_store), format="json")
    assert refused.status_code == 400
    # (the other store's name is not revealed: to this user it does not exist)
    assert refused.json()["error"]["fields"]["store"] == [
        f"There is no such record in your scope (id {other_store.pk})."
    ]


def test_internal_store_staff_are_narrowed_to_their_own_store(api, company, store):
    # The company's own shop assistants are internal users: scoping alone would show them all.
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    assistant = user_with_role(Role.STORE_STAFF, company)
    OpinionEntryFactory(store=store)

    assert api.as_user(assistant).get("/api/v1/opinion-entries/").json()["count"] == 0


def test_quality_staff_see_every_stores_quality_safety_entries(
    api, store, other_store, quality_staff
):
    OpinionEntryFactory(store=store, category="quality_safety")
    OpinionEntryFactory(store=other_store, category="quality_safety")
    OpinionEntryFactory(store=other_store, category="service")

    response = api.as_user(quality_staff).get(
        "/api/v1/opinion-entries/", {"category": "quality_safety"}
    )

    assert response.json()["count"] == 2


def test_an_out_of_scope_device_model_or_a_bad_input_is_named(api, store, store_staff):
    response = api.as_user(store_staff).post("/api/v1/opinion-entries/", entry_body(
        store, device_model=999999, category="nonsense", content="",
        entry_date=(timezone.localdate() + datetime.timedelta(days=2)).isoformat(),
    ), format="json")  # fmt: skip

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"device_model", "category", "content"}
    assert fields["device_model"] == ["There is no such record in your scope (id 999999)."]
    assert not OpinionEntry.objects.exists()


def test_a_future_date_is_refused(api, store, store_staff):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    response = api.as_user(store_staff).post(
        "/api/v1/opinion-entries/", entry_body(store, entry_date=tomorrow), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["entry_date"] == [
        "The entry cannot be dated in the future."
    ]


def test_unmasking_the_phone_is_audited(api, store, store_staff):
    entry = OpinionEntryFactory(store=store, customer_phone="13918807766")
    response = api.as_user(store_staff).post(f"/api/v1/opinion-entries/{entry.pk}/unmask/")
    assert response.json() == {"customer_phone": "13918807766"}
    assert AuditEvent.objects.filter(action="unmask", object_id=str(entry.pk)).count() == 1


def test_the_answer_records_who_and_when(api, store, store_staff):
    entry = OpinionEntryFactory(store=store)
    response = api.as_user(store_staff).patch(
        f"/api/v1/opinion-entries/{entry.pk}/", {"answer": "已电话回复顾客"}, format="json"
    )
    assert response.status_code == 200, response.json()
    entry.refresh_from_db()
    assert entry.answer == "已电话回复顾客"
    assert entry.answered_by == store_staff
    assert entry.answered_at is not None


def test_the_book_lists_in_a_fixed_number_of_queries(client, api, store, quality_staff):
    def count(path):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    client.force_login(quality_staff)
    OpinionEntryFactory.create_batch(2, store=store)
    small = (count("/feedback/opinion-entries/"), count("/api/v1/opinion-entries/"))
    OpinionEntryFactory.create_batch(12, store=store, category="quality_safety")
    large = (count("/feedback/opinion-entries/"), count("/api/v1/opinion-entries/"))

    assert small == large


def test_the_entry_page_offers_quality_staff_the_case(client, store, quality_staff):
    entry = OpinionEntryFactory(store=store, category="other")
    client.force_login(quality_staff)

    page = client.get(f"/feedback/opinion-entries/{entry.pk}/").content.decode()
    opened = client.post(f"/feedback/opinion-entries/{entry.pk}/to-quality-case/")

    assert "Open a quality case" in page
    assert "139****7766" in page
    assert opened.status_code == 302
    assert OpinionEntry.objects.get().quality_case is not None
