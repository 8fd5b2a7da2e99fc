"""The stores' books and the correspondence archive as UI and API resources, and the
correspondence tab in the customer archive (the organisation's page)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.core.registry import Related, Resource, register, related_register
from medservice.feedback import views_correspondence, views_stores
from medservice.feedback.api.correspondence import LetterSerializer
from medservice.feedback.api.stores import (
    MissedReviewSerializer,
    OpinionEntrySerializer,
    OpinionReviewSerializer,
    ShortageEntrySerializer,
    StoreProfileSerializer,
)
from medservice.feedback.forms_stores import (
    LetterFilter,
    LetterForm,
    MissedReviewFilter,
    OpinionEntryFilter,
    OpinionEntryForm,
    OpinionReviewFilter,
    OpinionReviewForm,
    ShortageEntryFilter,
    ShortageEntryForm,
    StoreProfileFilter,
    StoreProfileForm,
)
from medservice.feedback.models import (
    Letter,
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
)
from medservice.feedback.selectors_stores import (
    letters_visible_to,
    missed_reviews_visible_to,
    opinion_entries_visible_to,
    opinion_reviews_visible_to,
    shortage_entries_visible_to,
    store_profiles_visible_to,
)
from medservice.feedback.services_correspondence import letter_create, letter_update
from medservice.feedback.services_stores import (
    opinion_entry_create,
    opinion_entry_update,
    opinion_review_record,
    shortage_entry_create,
    shortage_entry_update,
    store_profile_create,
    store_profile_update,
)

TIMESTAMPS = ["created_at", "updated_at"]

store_profiles = register(
    Resource(
        name="store-profiles",
        model=StoreProfile,
        selector=store_profiles_visible_to,
        namespace="feedback",
        list_columns=[
            "store", "regulator_name", "supervision_phone", "store_complaint_phone",
            "head_office_complaint_phone", "closes_at", "keeps_opinion_book",
        ],
        detail_fields=[
            "store", "regulator_name", "supervision_phone", "store_complaint_phone",
            "head_office_complaint_phone", "closes_at", "keeps_opinion_book", "manager",
            "quality_person", "notes", *TIMESTAMPS,
        ],
        form_class=StoreProfileForm,
        filterset_class=StoreProfileFilter,
        serializer_class=StoreProfileSerializer,
        search_fields=["store__name"],
        ordering_fields=["store__name"],
        default_ordering=["store__name", "pk"],
        select_related=["store", "manager", "quality_person"],
        create=store_profile_create,
        update=store_profile_update,
        # The notice was published: a profile is changed, never deleted.
        delete=None,
        detail_view=views_stores.StoreProfileDetailView,
    )
)  # fmt: skip

opinion_entries = register(
    Resource(
        name="opinion-entries",
        model=OpinionEntry,
        selector=opinion_entries_visible_to,
        namespace="feedback",
        list_columns=[
            "number", "entry_date", "store", "category", "content", "customer_name_masked",
            "quality_case", "answered_at",
        ],
        detail_fields=[
            "number", "store", "entry_date", "category", "content", "customer_name_masked",
            "customer_phone_masked", "device_model", "batch_number", "product_text", "answer",
            "answered_at", "answered_by", "quality_case", "recorded_by", "retain_until",
            *TIMESTAMPS,
        ],
        export_fields=[
            "number", "entry_date", "store", "category", "content", "customer_name_masked",
            "device_model", "batch_number", "product_text", "answer", "answered_at",
            "quality_case",
        ],
        form_class=OpinionEntryForm,
        filterset_class=OpinionEntryFilter,
        serializer_class=OpinionEntrySerializer,
        search_fields=["number", "content", "product_text", "batch_number"],
        ordering_fields=["entry_date", "number", "category"],
        default_ordering=["-entry_date", "-id"],
        select_related=["store", "quality_case", "device_model", "answered_by", "recorded_by"],
        create=opinion_entry_create,
        update=opinion_entry_update,
        # A complaint record (R-DIST): kept, never deleted.
        delete=None,
        detail_view=views_stores.OpinionEntryDetailView,
    )
)  # fmt: skip

opinion_reviews = register(
    Resource(
        name="opinion-reviews",
        model=OpinionBookReview,
        selector=opinion_reviews_visible_to,
        namespace="feedback",
        list_columns=["day", "store", "reviewed_at", "reviewed_by", "quality_safety_found",
                      "findings"],
        detail_fields=["store", "day", "reviewed_at", "reviewed_by", "findings",
                       "quality_safety_found", *TIMESTAMPS],
        form_class=OpinionReviewForm,
        filterset_class=OpinionReviewFilter,
        serializer_class=OpinionReviewSerializer,
        search_fields=["findings"],
        ordering_fields=["day"],
        default_ordering=["-day", "-id"],
        select_related=["store", "reviewed_by"],
        create=opinion_review_record,
        # A review records what was seen that day: it is not edited afterwards.
        update=None,
        delete=None,
    )
)  # fmt: skip

missed_reviews = register(
    Resource(
        name="missed-reviews",
        model=MissedReview,
        selector=missed_reviews_visible_to,
        namespace="feedback",
        list_columns=["day", "store", "deadline", "recorded_at", "notified"],
        detail_fields=["store", "day", "deadline", "recorded_at", "notified"],
        filterset_class=MissedReviewFilter,
        serializer_class=MissedReviewSerializer,
        ordering_fields=["day"],
        default_ordering=["-day", "-id"],
        select_related=["store"],
        # Recorded by the daily check only.
        create=None,
        update=None,
        delete=None,
    )
)  # fmt: skip

shortage_entries = register(
    Resource(
        name="shortage-entries",
        model=ShortageEntry,
        selector=shortage_entries_visible_to,
        namespace="feedback",
        list_columns=[
            "number", "requested_on", "store", "product_label", "quantity",
            "customer_name_masked", "customer_phone_masked", "status", "notified_at",
        ],
        detail_fields=[
            "number", "store", "requested_on", "product_label", "device_model", "part",
            "product_text", "quantity", "customer_name_masked", "customer_phone_masked",
            "status", "notified_at", "notified_by", "closed_at", "closed_by", "close_note",
            "recorded_by", "retain_until", *TIMESTAMPS,
        ],
        export_fields=[
            "number", "requested_on", "store", "product_label", "quantity",
            "customer_name_masked", "customer_phone_masked", "status", "notified_at",
            "closed_at", "close_note",
        ],
        form_class=ShortageEntryForm,
        filterset_class=ShortageEntryFilter,
        serializer_class=ShortageEntrySerializer,
        search_fields=["number", "product_text"],
        ordering_fields=["requested_on", "number", "status"],
        default_ordering=["-requested_on", "-id"],
        select_related=["store", "device_model", "part", "closed_by", "recorded_by"],
        create=shortage_entry_create,
        update=shortage_entry_update,
        delete=None,
        detail_view=views_stores.ShortageEntryDetailView,
    )
)  # fmt: skip

correspondence = register(
    Resource(
        name="correspondence",
        model=Letter,
        selector=letters_visible_to,
        namespace="feedback",
        list_columns=[
            "number", "letter_date", "kind", "direction", "subject", "organization",
            "device_model", "counterpart",
        ],
        detail_fields=[
            "number", "kind", "direction", "letter_date", "subject", "organization",
            "counterpart", "their_reference", "device_model", "summary", "ticket",
            "quality_case", "recorded_by", "retain_until", *TIMESTAMPS,
        ],
        export_fields=[
            "number", "letter_date", "kind", "direction", "subject", "organization",
            "device_model", "counterpart", "their_reference", "ticket", "quality_case",
        ],
        form_class=LetterForm,
        filterset_class=LetterFilter,
        serializer_class=LetterSerializer,
        search_fields=["number", "subject", "counterpart", "their_reference"],
        ordering_fields=["letter_date", "number"],
        default_ordering=["-letter_date", "-id"],
        select_related=["organization", "device_model", "ticket", "quality_case", "recorded_by"],
        create=letter_create,
        update=letter_update,
        # Filed correspondence is a record (R-DIST): kept, never deleted.
        delete=None,
        detail_view=views_correspondence.LetterDetailView,
    )
)  # fmt: skip

# The pages taking a record's id scope through the resource (checked by the scoping tests).
for _view in (views_stores.store_notice,):
    _view.resource = store_profiles  # type: ignore[attr-defined]
for _view in (views_stores.opinion_entry_to_case, views_stores.opinion_entry_unmask_view):
    _view.resource = opinion_entries  # type: ignore[attr-defined]
for _view in (
    views_stores.shortage_close_view,
    views_stores.shortage_notify_view,
    views_stores.shortage_unmask_view,
):
    _view.resource = shortage_entries  # type: ignore[attr-defined]
for _view in (views_correspondence.letter_file, views_correspondence.letter_attach):
    _view.resource = correspondence  # type: ignore[attr-defined]


def _letters_of_organization(organization: Any, user: Any) -> QuerySet[Letter]:
    return (
        letters_visible_to(user)
        .filter(organization=organization)
        .select_related("device_model")
        .order_by("-letter_date", "-pk")
    )


def _letters_of_model(device_model: Any, user: Any) -> QuerySet[Letter]:
    return (
        letters_visible_to(user)
        .filter(device_model=device_model)
        .select_related("organization")
        .order_by("-letter_date", "-pk")
    )


# The customer archive (客户档案): the organisation's page lists its correspondence; the
# product's page lists what was written about it.
related_register(
    "organizations",
    Related(
        _("Correspondence"), _letters_of_organization,
        ["number", "letter_date", "kind", "direction", "subject", "device_model"],
        "feedback:correspondence-detail",
    ),
)  # fmt: skip
related_register(
    "device-models",
    Related(
        _("Correspondence"), _letters_of_model,
        ["number", "letter_date", "kind", "subject", "organization"],
        "feedback:correspondence-detail",
    ),
)  # fmt: skip
