"""Who sees which organisations: the one scoping rule every later app's selectors build on."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Q, QuerySet, Value, When

from medservice.customers.choices import OrganizationKind
from medservice.customers.models import Organization


def user_scope(user: Any) -> str:
    """'internal', 'distributor', 'customer' or 'none' for a signed-in user."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return "none"
    if user.is_superuser:
        return "internal"
    organization = user.organization
    if organization is None:
        return "none"
    if organization.kind == OrganizationKind.COMPANY:
        return "internal"
    if organization.kind == OrganizationKind.DISTRIBUTOR:
        return "distributor"
    return "customer"


def organization_ids_visible_to(user: Any) -> QuerySet[Organization] | None:
    """A subquery of the organisation ids a user may see, or None for "all" (internal)."""
    scope = user_scope(user)
    if scope == "internal":
        return None
    if scope == "none":
        return Organization.objects.none().values("pk")
    own = user.organization_id
    if scope == "distributor":
        condition = Q(pk=own) | Q(served_by=own) | Q(parent__served_by=own)
    else:
        condition = Q(pk=own) | Q(parent=own)
    return Organization.objects.filter(condition).values("pk")


def organizations_visible_to(user: Any) -> QuerySet[Organization]:
    ids = organization_ids_visible_to(user)
    if ids is None:
        return Organization.objects.all()
    return Organization.objects.filter(pk__in=ids)


def scope_by_organization(queryset: QuerySet, user: Any, field: str = "organization") -> QuerySet:
    """Limit any queryset with an organisation foreign key to what `user` may see."""
    ids = organization_ids_visible_to(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def departments_visible_to(user: Any) -> QuerySet:
    from medservice.customers.models import Department

    return scope_by_organization(Department.objects.all(), user)


def contacts_visible_to(user: Any) -> QuerySet:
    from medservice.customers.models import Contact

    return scope_by_organization(Contact.objects.filter(anonymised_at__isnull=True), user)


def contacts_find_by_phone(user: Any, phone: str) -> QuerySet:
    """The contacts whose phone or mobile is exactly this number, however it is written: the
    look-up goes through the keyed hash, never the encrypted values."""
    from medservice.core.crypto import blind_index

    digest = blind_index(phone)
    if not digest:
        return contacts_visible_to(user).none()
    return contacts_visible_to(user).filter(Q(phone_index=digest) | Q(mobile_index=digest))


def organizations_matching(user: Any, text: str) -> QuerySet[Organization]:
    """The organisations `user` may see whose name contains `text` or whose credit code starts
    with it, names starting with it first: what a person picking a customer types."""
    queryset = organizations_visible_to(user)
    text = text.strip()
    if not text:
        return queryset.order_by("name", "pk")
    return (
        queryset.filter(Q(name__icontains=text) | Q(credit_code__startswith=text.upper()))
        .annotate(prefix_rank=Case(When(name__istartswith=text, then=Value(0)), default=Value(1)))
        .order_by("prefix_rank", "name", "pk")
    )


def departments_matching(user: Any, text: str, organization_id: int | None = None) -> QuerySet:
    """The departments `user` may see whose name contains `text`, within one organisation when
    one is given (a device's department belongs to its owner)."""
    queryset = departments_visible_to(user).select_related("organization")
    if organization_id is not None:
        queryset = queryset.filter(organization_id=organization_id)
    text = text.strip()
    if text:
        queryset = queryset.filter(name__icontains=text)
    return queryset.order_by("name", "organization__name", "pk")
