"""Who sees which stores' books and which correspondence, and the reads the pages and jobs need.

Organisation scoping as everywhere (customers.selectors), and one more narrowing: a user of
the company's own staff without `feedback.view_every_store` (store staff working in one
store) reaches only the books of their own organisation and the stores under it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

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
# The company's own shops (SOP: 各连锁门店 of the head office) are units of the company: their
# staff are internal users. Such a unit counts as a store once its store profile is recorded.
STORE_ORGANIZATIONS = Q(kind__in=STORE_KINDS) | Q(
    kind=OrganizationKind.COMPANY, store_profile__isnull=False
)


def store_profile_allowed(organization: Organization) -> bool:
    """A customer's store or chain, or a unit under the company (its own shop), may publish a
    store profile; the head office itself and hospitals may not."""
    if organization.kind in STORE_KINDS:
        return True
    return organization.kind == OrganizationKind.COMPANY and organization.parent_id is not None


def store_refusal(organization: Organization, *, profile: bool = False) -> str:
    """Why `organization` may not have a store profile (`profile`) or store books."""
    if profile:
        return _("%(organization)s is not a store, a chain store or a shop of the company.") % {
            "organization": organization
        }
    if store_profile_allowed(organization):
        return _("%(organization)s keeps no store books yet: record its store profile first.") % {
            "organization": organization
        }
    return _("%(organization)s is not a store or a chain store.") % {"organization": organization}


def is_store(organization: Organization) -> bool:
    """Whether `organization` keeps store books: a customer's store or chain, or an own shop
    whose store profile is recorded."""
    if organization.kind in STORE_KINDS:
        return True
    return organization.kind == OrganizationKind.COMPANY and (
        StoreProfile.objects.filter(store=organization).exists()
    )


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
    return _scoped(Organization.objects.filter(STORE_ORGANIZATIONS), user, "pk")


def store_within_reach(user: Any, organization: Organization) -> bool:
    """Whether `user` may keep the books (or the profile) of `organization`, by scope alone."""
    return _scoped(Organization.objects.filter(pk=organization.pk), user, "pk").exists()


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
