"""Every scoped record kind the UI and API expose, declared once by its app.

A Resource names the model, the selector that decides who sees which rows, and how its list,
detail, form, export and API look. Core builds the views, viewsets and the scoping tests from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from medservice.core import services as generic_services


@dataclass
class Related:
    """A tab on a record's page listing related records, possibly from a later app (a
    customer's devices on the organisation page): the later app registers it by name."""

    label: Any
    rows: Callable[[Any, Any], models.QuerySet]  # (record, user) -> scoped queryset
    columns: list[str]
    detail_url_name: str = ""
    limit: int = 50
    # A page listing all of them (a URL name taking the record's pk), linked under the tab.
    more_url_name: str = ""
    # A page creating one for this record (a URL name; the record's pk goes in ?<new_query>=),
    # offered to users holding `new_permission` (a work order from a service request).
    new_url_name: str = ""
    new_query: str = ""
    new_label: Any = ""
    new_permission: str = ""


@dataclass
class Resource:
    name: str
    model: type[models.Model]
    selector: Callable[[Any], models.QuerySet]
    namespace: str
    list_columns: list[str]
    detail_fields: list[str]
    form_class: Any = None
    filterset_class: Any = None
    serializer_class: Any = None
    search_fields: list[str] = field(default_factory=list)
    ordering_fields: list[str] = field(default_factory=list)
    default_ordering: list[str] = field(default_factory=lambda: ["-id"])
    export_fields: list[str] | None = None
    select_related: list[str] = field(default_factory=list)
    prefetch_related: list[str] = field(default_factory=list)
    create: Callable[..., Any] | None = generic_services.record_create
    update: Callable[..., Any] | None = generic_services.record_update
    delete: Callable[..., Any] | None = generic_services.record_delete
    api_basename: str = ""
    # False for company-wide master data (catalogue): every role that may view it sees all of
    # it, so the organisation-scoping tests skip it; its selector still decides visibility.
    organization_scoped: bool = True
    related: list[Related] = field(default_factory=list)
    detail_view: Any = None  # a ResourceDetailView subclass with extra context, if any
    # Buttons acting on the rows ticked in the list: (label, url name taking ?ids=...).
    bulk_actions: list[tuple[Any, str]] = field(default_factory=list)
    # The list's "New" button opens this page (a URL name) instead of the generic form.
    create_url_name: str = ""
    # A template rendering the list's rows instead of core/resource_list_rows.html (badges,
    # countdowns); it gets the same context.
    list_rows_template: str = ""

    @property
    def app_label(self) -> str:
        return self.model._meta.app_label

    def permission(self, action: str) -> str:
        return f"{self.app_label}.{action}_{self.model._meta.model_name}"

    def url_name(self, view: str) -> str:
        return f"{self.namespace}:{self.name}-{view}"

    def queryset_for(self, user: Any) -> models.QuerySet:
        queryset = self.selector(user)
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        if self.prefetch_related:
            queryset = queryset.prefetch_related(*self.prefetch_related)
        return queryset


RESOURCES: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    RESOURCES[resource.name] = resource
    return resource


def related_register(resource_name: str, related: Related) -> None:
    """Add a related-records tab to another app's resource page (later apps extend earlier)."""
    RESOURCES[resource_name].related.append(related)


@dataclass
class HomePanel:
    """A panel an app adds to the home page (a role's own work): shown to users holding
    `permission`; `context(request)` gives its template what it shows, in a fixed number of
    queries."""

    name: str
    template: str
    context: Callable[[Any], dict[str, Any]]
    permission: str = ""
    order: int = 100


HOME_PANELS: dict[str, HomePanel] = {}


def home_panel_register(panel: HomePanel) -> HomePanel:
    HOME_PANELS[panel.name] = panel
    return panel


def home_panels_for(request: Any) -> list[dict[str, Any]]:
    """The panels this user may see, in order, each with its template and context."""
    user = request.user
    return [
        {"name": panel.name, "template": panel.template, **panel.context(request)}
        for panel in sorted(HOME_PANELS.values(), key=lambda item: (item.order, item.name))
        if not panel.permission or user.has_perm(panel.permission)
    ]


def resource_for_model(model: type[models.Model]) -> Resource | None:
    for resource in RESOURCES.values():
        if resource.model._meta.concrete_model is model._meta.concrete_model:
            return resource
    return None


def resource_for_label(label: str) -> Resource | None:
    for resource in RESOURCES.values():
        if resource.model._meta.label_lower == label:
            return resource
    return None
