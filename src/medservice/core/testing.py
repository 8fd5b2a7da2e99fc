"""Test mixins every app gets by declaring its resources: scoping is checked for each UI view
and API endpoint the resource exposes, against records the user may not see."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.db import models
from django.urls import NoReverseMatch, get_resolver, reverse

from medservice.core.registry import RESOURCES, Resource


def grant_all_permissions(user: Any, resource: Resource) -> None:
    """Give `user` every model permission of `resource`, so only scoping can refuse."""
    meta = resource.model._meta
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label=meta.app_label, codename__endswith=f"_{meta.model_name}"
        )
    )
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def ui_urls(resource: Resource, pk: int) -> dict[str, str]:
    urls = {}
    for view in ("detail", "edit", "delete"):
        try:
            urls[view] = reverse(resource.url_name(view), kwargs={"pk": pk})
        except NoReverseMatch:
            continue
    return urls


def api_url(resource: Resource, pk: int | None = None) -> str:
    base = f"/api/v1/{resource.name}/"
    return base if pk is None else f"{base}{pk}/"


def assert_record_is_out_of_scope(
    client: Any, api_client: Any, resource: Resource, record: models.Model
) -> None:
    """Every way to reach `record` answers 404 or leaves it out, and nothing changes."""
    version_before = getattr(record, "version", None)
    for view, url in ui_urls(resource, record.pk).items():
        assert client.get(url).status_code == 404, f"GET {url} ({view}) should be 404"
        if view != "detail":
            assert client.post(url, {"reason": "x", "name": "x"}).status_code == 404, f"POST {url}"
    assert api_client.get(api_url(resource, record.pk)).status_code == 404
    # A resource without generic edit or delete answers 405 before looking the record up:
    # that reveals nothing either.
    refused = {404} if resource.update is not None else {404, 405}
    assert api_client.patch(api_url(resource, record.pk), {}, format="json").status_code in refused
    refused = {404} if resource.delete is not None else {404, 405}
    assert api_client.delete(api_url(resource, record.pk)).status_code in refused
    listed = api_client.get(api_url(resource), {"page_size": 200}).json()["results"]
    assert record.pk not in {row["id"] for row in listed}
    page = client.get(reverse(resource.url_name("list")))
    assert (
        reverse(resource.url_name("detail"), kwargs={"pk": record.pk}) not in page.content.decode()
    )
    export = client.get(reverse(resource.url_name("list")), {"export": "csv", "ids": [record.pk]})
    exported = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert len(exported) == 1, "an out-of-scope record was exported"
    history = api_client.get(
        "/api/v1/audit-events/",
        {"object_type": resource.model._meta.label_lower, "object_id": record.pk},
    )
    assert history.status_code == 404
    record.refresh_from_db()
    assert getattr(record, "version", None) == version_before


def assert_record_is_in_scope(
    client: Any, api_client: Any, resource: Resource, record: models.Model
) -> None:
    assert (
        client.get(reverse(resource.url_name("detail"), kwargs={"pk": record.pk})).status_code
        == 200
    )
    assert api_client.get(api_url(resource, record.pk)).status_code == 200


def unregistered_record_routes() -> list[str]:
    """Routes that take a record id but belong to no declared resource (nothing checks them)."""
    missing = []

    def walk(patterns: Any, prefix: str = "") -> None:
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            route = prefix + str(pattern.pattern)
            if "<int:pk>" not in route and "(?P<pk>" not in route:
                continue
            callback = pattern.callback
            resource = getattr(callback, "resource", None) or getattr(
                getattr(callback, "cls", None), "resource", None
            )
            exempt = getattr(callback, "scoping_exempt", "") or getattr(
                getattr(callback, "cls", None), "scoping_exempt", ""
            )
            if resource is None and not exempt:
                missing.append(route)

    walk(get_resolver().url_patterns)
    return missing


def registered_resources() -> list[Resource]:
    return list(RESOURCES.values())
