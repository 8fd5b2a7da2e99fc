"""The page matrix: every role against the list page of every registered record kind.

As in the API matrix, nothing here lists who may see what: a role whose permissions (the role
map, as `roles_sync` gives them) include the record kind's `view_` permission gets the page; any
other role is refused (403, or 404: a record kind the role may not see answers like a record
outside its scope). A kind registered later is checked without editing this file.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse

from medservice.core.registry import RESOURCES
from tests.factories import OrganizationFactory
from tests.security.test_permission_matrix import ROLES, role_permissions, subject


def list_pages() -> dict[str, tuple[str, str]]:
    """Each registered record kind's list page: name -> (URL, the permission it needs)."""
    import medservice.config.urls  # noqa: F401  (the apps register their resources with the URLs)

    pages = {}
    for name, resource in RESOURCES.items():
        try:
            url = reverse(resource.url_name("list"))
        except NoReverseMatch:
            continue  # a kind shown only inside another record's page
        pages[name] = (url, resource.permission("view"))
    return pages


def outcome(status_code: int) -> str:
    if status_code == 200:
        return "200"
    return "refused" if status_code in (403, 404) else f"unexpected {status_code}"


def test_the_matrix_covers_the_registered_list_pages():
    # a registry that lost its pages would make the matrix below pass trivially
    assert len(list_pages()) >= 40


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_list_pages_its_permissions_give(role, client: Any):
    # given a user of the role
    client.force_login(subject(role, home=OrganizationFactory(name="医院")))

    # when they open every list page (one test per role, as in the API matrix)
    differences = {}
    for name, (url, permission) in sorted(list_pages().items()):
        got = outcome(client.get(url).status_code)
        expected = "200" if permission in role_permissions(role) else "refused"
        if got != expected:
            differences[f"{name} {url}"] = f"expected {expected}, got {got}"

    # then every answer is the one the role map decides
    assert differences == {}
