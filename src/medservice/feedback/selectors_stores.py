"""Who sees which stores' books and which correspondence, and the reads the pages and jobs need.

Organisation scoping as everywhere (customers.selectors), and one more narrowing: a user of
the company's own staff without `feedback.view_every_store` (store staff working in one
store) reaches only the books of their own organisation and the stores under it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from medservice.customers.choices import OrganizationKind
from medservice.customers.models import Organization
from medservice.customers.selectors import organization_ids_visible_to, organizations_visible_to
from medservice.feedback.models import (
    Letter,
    LetterFile,
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
)

STORE_KINDS = (OrganizationKind.STORE, OrganizationKind.CHAIN_STORE)


def store_ids_visible_to(user: Any) -> QuerySet | None:
    """A subquery of the organisation ids whose store books `user` may see, None for all."""
    ids = organization_ids_visible_to(user)
    if ids is None and not user.has_perm("feedback.view_every_store"):
        own = getattr(user, "organization_id", None)
        if own is None:
            return Organization.objects.none().values("pk")
        return Organization.objects.filter(Q(pk=own) | Q(parent=own)).values("pk")
    return ids


def _scoped(queryset: QuerySet, user: Any, field: str = "store") -> QuerySet:
    ids = store_ids_visible_to(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def stores_visible_to(user: Any) -> QuerySet[Organization]:
    """The stores and chains whose books `user` keeps or oversees (choices in forms)."""
    return _scoped(Organization.objects.filter(kind__in=STORE_KINDS), user, "pk")


def store_profiles_visible_to(user: Any) -> QuerySet[StoreProfile]:
    return _scoped(StoreProfile.objects.all(), user)


def opinion_entries_visible_to(user: Any) -> QuerySet[OpinionEntry]:
    return _scoped(OpinionEntry.objects.all(), user)


def opinion_reviews_visible_to(user: Any) -> QuerySet[OpinionBookReview]:
    return _scoped(OpinionBookReview.objects.all(), user)


def missed_reviews_visible_to(user: Any) -> QuerySet[MissedReview]:
    return _scoped(MissedReview.objects.all(), user)


def shortage_entries_visible_to(user: Any) -> QuerySet[ShortageEntry]:
    return _scoped(ShortageEntry.objects.all(), user)


def letters_visible_to(user: Any) -> QuerySet[Letter]:
    """Correspondence is filed under the organisation: scoped like its other records."""
    ids = organization_ids_visible_to(user)
    if ids is None:
        return Letter.objects.all()
    return Letter.objects.filter(organization__in=ids)


def letter_files_of(letter: Letter) -> QuerySet[LetterFile]:
    return letter.files.select_related("uploaded_by").order_by("pk")


def organizations_for_letters(user: Any) -> QuerySet[Organization]:
    return organizations_visible_to(user)


# --- Stock ------------------------------------------------------------------------------------


def quantity_in_stock(*, part_id: int | None = None, device_model_id: int | None = None) -> Decimal:
    """Good stock in usable locations (warehouses, engineers' stock) of the part, or of the
    parts registered as the device model, not counting lots on hold."""
    from medservice.inventory.choices import USABLE_LOCATION_KINDS, Condition
    from medservice.inventory.models import StockBalance

    balances = StockBalance.objects.filter(
        condition=Condition.GOOD, location__kind__in=USABLE_LOCATION_KINDS, quantity__gt=0
    ).exclude(lot__on_hold=True)
    if part_id is not None:
        balances = balances.filter(part_id=part_id)
    elif device_model_id is not None:
        balances = balances.filter(part__device_model_id=device_model_id)
    else:
        return Decimal(0)
    return balances.aggregate(total=Sum("quantity"))["total"] or Decimal(0)


def shortages_waiting() -> QuerySet[ShortageEntry]:
    """Open entries naming a part or a model whose customer has not been told yet."""
    return ShortageEntry.objects.filter(status="open", notified_at__isnull=True).filter(
        Q(part__isnull=False) | Q(device_model__isnull=False)
    )
