"""The main navigation that apps plug into: each app's AppConfig lists `navigation` entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    permission: str = ""
    icon: str = ""
    order: int = 100


def navigation_for(user: Any, path: str) -> list[dict[str, Any]]:
    if not getattr(user, "is_authenticated", False):
        return []
    items: list[NavItem] = []
    for config in apps.get_app_configs():
        items.extend(getattr(config, "navigation", ()))
    entries = []
    for item in sorted(items, key=lambda entry: entry.order):
        if item.permission and not user.has_perm(item.permission):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        entries.append(
            {"label": item.label, "url": url, "active": path.startswith(url) and url != "/"}
        )
    return entries
