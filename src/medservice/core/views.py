"""Core pages (home, health, inbox, audit history) and the generic resource views that domain
apps declare instead of writing: list (filter, sort, paginate, export), detail, create, edit,
delete. Every one of them starts from the resource's selector, so out-of-scope rows are 404."""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found as django_page_not_found

from medservice.core.api.errors import error_body
from medservice.core.errors import DomainError
from medservice.core.exports import export_csv, export_xlsx, field_value, rows_of
from medservice.core.models import AuditEvent, Notification
from medservice.core.notifications import notification_mark_read
from medservice.core.pagination import DeferredJoinPaginator
from medservice.core.registry import Resource, home_panels_for
from medservice.core.selectors import audit_events_for_record

PAGE_SIZE = 25


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 of an address no route matches: JSON under /api/ (an API client reads the error
    body of core/api/errors.py, e.g. for /api/v1/tickets/abc/ whose id is not a number), the
    HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return django_page_not_found(request, exception)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # An app may land some users elsewhere (customer users on the customer portal): core asks
    # each app's `landing_for(user)` rather than importing the apps.
    for config in apps.get_app_configs():
        landing = getattr(config, "landing_for", None)
        url = landing(request.user) if landing is not None else ""
        if url:
            return HttpResponseRedirect(url)
    notifications = Notification.objects.filter(recipient=request.user, read_at__isnull=True)[:10]
    return render(
        request,
        "core/home.html",
        {"notifications": notifications, "panels": home_panels_for(request)},
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(Notification.objects.filter(recipient=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "core/inbox.html", {"page": page})


@login_required
@require_POST
def inbox_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notification_mark_read(actor=request.user, notification=notification)
    if notification.link:
        return HttpResponseRedirect(notification.link)
    return redirect("core:inbox")


inbox_read.scoping_exempt = "a user's own notifications only (recipient=request.user)"


def column_label(model: Any, name: str) -> str:
    first = name.split("__")[0]
    try:
        return str(model._meta.get_field(first).verbose_name)
    except Exception:  # a property: it may carry its own label
        attribute = getattr(model, first, None)
        label = getattr(getattr(attribute, "fget", None), "short_description", None)
        return str(label) if label else name.replace("_", " ")


def field_labels(model: Any) -> dict[str, str]:
    """attname -> translated verbose name, for showing audit changes."""
    labels = {}
    for field in model._meta.get_fields():
        if hasattr(field, "attname") and hasattr(field, "verbose_name"):
            labels[field.attname] = str(field.verbose_name)
        elif getattr(field, "many_to_many", False) and hasattr(field, "verbose_name"):
            labels[field.name] = str(field.verbose_name)
    return labels


class ResourceMixin(LoginRequiredMixin, PermissionRequiredMixin):
    resource: Resource = None  # type: ignore[assignment]  (set by resource_urlpatterns)
    action = "view"
    raise_exception = True

    def get_permission_required(self) -> tuple[str, ...]:
        return (self.resource.permission(self.action),)

    def handle_no_permission(self) -> HttpResponse:
        if not self.request.user.is_authenticated:
            return redirect_to_login(self.request.get_full_path())
        # A record kind the role may not see answers like a record outside its scope.
        raise Http404

    def scoped(self) -> Any:
        return self.resource.queryset_for(self.request.user)

    def get_object(self) -> Any:
        return get_object_or_404(self.scoped(), pk=self.kwargs["pk"])

    def base_context(self) -> dict[str, Any]:
        meta = self.resource.model._meta
        user = self.request.user
        return {
            "resource": self.resource,
            "verbose_name": meta.verbose_name,
            "verbose_name_plural": meta.verbose_name_plural,
            "can_add": self.resource.create is not None
            and user.has_perm(self.resource.permission("add")),
            "can_change": self.resource.update is not None
            and user.has_perm(self.resource.permission("change")),
            "can_delete": self.resource.delete is not None
            and user.has_perm(self.resource.permission("delete")),
            "list_url": reverse(self.resource.url_name("list")),
            "import_url": self.import_url(),
            "bulk_actions": [
                {"label": label, "url": reverse(url_name)}
                for label, url_name in self.resource.bulk_actions
            ],
        }

    def import_url(self) -> str:
        from medservice.core.imports import SPECS

        spec = SPECS.get(self.resource.name)
        if spec is None or not self.request.user.has_perm(spec.permission):
            return ""
        return reverse("core:import-upload", kwargs={"kind": spec.kind})


class ResourceListView(ResourceMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        resource = self.resource
        queryset = self.scoped()
        filterset = None
        if resource.filterset_class is not None:
            filterset = resource.filterset_class(request.GET, queryset=queryset, request=request)
            queryset = filterset.qs
        search = request.GET.get("q", "").strip()
        if search and resource.search_fields:
            from django.db.models import Q

            condition = Q()
            for name in resource.search_fields:
                condition |= Q(**{f"{name}__icontains": search})
            queryset = queryset.filter(condition)
        sort = request.GET.get("sort", "")
        if sort.lstrip("-") in resource.ordering_fields:
            queryset = queryset.order_by(sort, "-pk")
        else:
            sort = ""
            queryset = queryset.order_by(*resource.default_ordering)
        export = request.GET.get("export")
        if export in {"csv", "xlsx"}:
            return self.export(queryset, export)
        # Deep pages join only their own rows, never the skipped ones (core/pagination.py).
        page = DeferredJoinPaginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
        columns = [
            {
                "name": name,
                "label": column_label(resource.model, name),
                "sortable": name in resource.ordering_fields,
            }
            for name in resource.list_columns
        ]
        rows = [
            {"object": obj, "cells": [field_value(obj, name) for name in resource.list_columns]}
            for obj in page.object_list
        ]
        query = request.GET.copy()
        query.pop("page", None)
        without_sort = query.copy()
        without_sort.pop("sort", None)
        context = {
            **self.base_context(),
            "filterset": filterset,
            "page": page,
            "columns": columns,
            "rows": rows,
            "sort": sort,
            "search": search,
            "query": query.urlencode(),
            "query_without_sort": without_sort.urlencode(),
            "detail_url_name": resource.url_name("detail"),
        }
        template = "core/resource_list_rows.html" if request.htmx else "core/resource_list.html"
        return render(request, template, context)

    def export(self, queryset: Any, kind: str) -> HttpResponse:
        fields = self.resource.export_fields or self.resource.list_columns
        headers = [column_label(self.resource.model, name) for name in fields]
        ids = [value for value in self.request.GET.getlist("ids") if value.isdigit()]
        if ids:
            queryset = queryset.filter(pk__in=ids)
        rows = rows_of(queryset.iterator(chunk_size=500), fields)
        filename = self.resource.name
        if kind == "csv":
            return export_csv(filename, headers, rows)
        return export_xlsx(filename, headers, rows)


class ResourceDetailView(ResourceMixin, View):
    extra_template = ""

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        """What a subclass's extra template needs beyond the generic page."""
        return {}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object()
        facts = [
            {"label": column_label(self.resource.model, name), "value": field_value(obj, name)}
            for name in self.resource.detail_fields
        ]
        history = audit_events_for_record(obj)[:50]
        related = []
        for tab in self.resource.related:
            rows = tab.rows(obj, request.user)
            meta = rows.model._meta
            if not request.user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
                continue  # a role that may not list these records sees no tab for them
            listed = list(rows[: tab.limit])
            related.append(
                {
                    "label": tab.label,
                    "count": rows.count() if len(listed) == tab.limit else len(listed),
                    "columns": [column_label(rows.model, name) for name in tab.columns],
                    "rows": [
                        {"object": item, "cells": [field_value(item, name) for name in tab.columns]}
                        for item in listed
                    ],
                    "detail_url_name": tab.detail_url_name,
                    "more_url": reverse(tab.more_url_name, args=[obj.pk])
                    if tab.more_url_name
                    else "",
                    "new_url": f"{reverse(tab.new_url_name)}?{tab.new_query}={obj.pk}"
                    if tab.new_url_name
                    and (not tab.new_permission or request.user.has_perm(tab.new_permission))
                    else "",
                    "new_label": tab.new_label,
                }
            )
        return render(
            request,
            "core/resource_detail.html",
            {
                **self.base_context(),
                "object": obj,
                "facts": facts,
                "history": history,
                "field_labels": field_labels(self.resource.model),
                "related": related,
                "extra_template": getattr(self, "extra_template", ""),
                **self.extra_context_for(obj),
                # Reasons and job names are internal; customers see what changed and when.
                "internal_history": request.user.has_perm("core.view_auditevent"),
                # A signed record is corrected by a new revision, never edited: no Edit button.
                **({"can_change": False} if getattr(obj, "is_frozen", False) else {}),
            },
        )


class ResourceFormView(ResourceMixin, View):
    action = "change"

    def instance(self) -> Any:
        return self.get_object() if "pk" in self.kwargs else None

    def form(self, data: Any = None, files: Any = None, instance: Any = None) -> Any:
        return self.resource.form_class(
            data=data, files=files, instance=instance, user=self.request.user
        )

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.instance()
        form = self.form(instance=instance)
        if hasattr(form, "displayed"):
            form.displayed()  # e.g. audit personal data shown in full for editing
        return self.show(form, instance)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        instance = self.instance()
        form = self.form(request.POST, request.FILES, instance=instance)
        if not form.is_valid():
            return self.show(form, instance, status=400)
        data = dict(form.cleaned_data)
        try:
            if instance is None:
                saved = self.resource.create(
                    actor=request.user, model=self.resource.model, data=data
                )
            else:
                saved = self.resource.update(
                    actor=request.user,
                    instance=instance,
                    data=data,
                    expected_version=request.POST.get("version") or None,
                )
        except DomainError as error:
            form.add_error(None, error.message)
            for name, problems in error.fields.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
            return self.show(form, instance, status=error.status)
        except ValidationError as error:
            form.add_error(None, error)
            return self.show(form, instance, status=400)
        messages.success(request, _("Saved %(record)s.") % {"record": saved})
        return redirect(self.resource.url_name("detail"), pk=saved.pk)

    def show(self, form: Any, instance: Any, status: int = 200) -> HttpResponse:
        if form.is_bound and self.request.POST.get("version"):
            # Keep the version the user started from: saving stale values again must conflict
            # again, never overwrite the other person's change.
            form.version = self.request.POST["version"]
        return render(
            self.request,
            "core/resource_form.html",
            {**self.base_context(), "form": form, "object": instance},
            status=status,
        )


class ResourceCreateView(ResourceFormView):
    action = "add"


class ResourceDeleteView(ResourceMixin, View):
    action = "delete"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(
            request,
            "core/resource_delete.html",
            {**self.base_context(), "object": self.get_object()},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object()
        try:
            self.resource.delete(
                actor=request.user, instance=obj, reason=request.POST.get("reason", "")
            )
        except DomainError as error:
            return render(
                request,
                "core/resource_delete.html",
                {**self.base_context(), "object": obj, "error": error.message},
                status=error.status,
            )
        messages.success(request, _("Deleted %(record)s.") % {"record": obj})
        return redirect(self.resource.url_name("list"))


def resource_urlpatterns(resource: Resource) -> list[Any]:
    from django.urls import path

    def view(cls: type[View]) -> Any:
        function = cls.as_view(resource=resource)
        function.resource = resource
        return function

    patterns = [
        path(f"{resource.name}/", view(ResourceListView), name=f"{resource.name}-list"),
        path(
            f"{resource.name}/<int:pk>/",
            view(resource.detail_view or ResourceDetailView),
            name=f"{resource.name}-detail",
        ),
    ]
    if resource.form_class is not None and resource.create is not None:
        patterns.append(
            path(f"{resource.name}/new/", view(ResourceCreateView), name=f"{resource.name}-create")
        )
    if resource.form_class is not None and resource.update is not None:
        patterns.append(
            path(
                f"{resource.name}/<int:pk>/edit/",
                view(ResourceFormView),
                name=f"{resource.name}-edit",
            )
        )
    if resource.delete is not None:
        patterns.append(
            path(
                f"{resource.name}/<int:pk>/delete/",
                view(ResourceDeleteView),
                name=f"{resource.name}-delete",
            )
        )
    return patterns


def audit_history_fragment(request: HttpRequest, events: list[AuditEvent]) -> HttpResponse:
    return render(request, "core/audit_history.html", {"history": events})


# --- Imports ----------------------------------------------------------------------------------


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_l("File (.xlsx or .csv)"))
    apply = forms.BooleanField(
        label=_l("Import straight away when the file has no errors"), required=False, initial=False
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError(_("Upload a .xlsx or .csv file."))
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it."))
        from medservice.core.attachments import spreadsheet_check
        from medservice.core.errors import InvalidInputError

        try:
            spreadsheet_check(upload)  # issue 12 security: the content, not only the name
        except InvalidInputError as error:
            raise forms.ValidationError(error.message) from error
        return upload


@login_required
def import_upload(request: HttpRequest, kind: str) -> HttpResponse:
    from medservice.core.imports import SPECS, import_start

    spec = SPECS.get(kind)
    if spec is None or not request.user.has_perm(spec.permission):
        raise Http404
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_start(
            actor=request.user,
            kind=kind,
            upload=form.cleaned_data["file"],
            apply=form.cleaned_data["apply"],
        )
        return redirect("core:import-detail", pk=job.pk)
    columns = [(column.headers[0], column.required) for column in spec.columns]
    return render(
        request,
        "core/import_upload.html",
        {"form": form, "spec": spec, "columns": columns},
        status=400 if form.errors else 200,
    )


def _own_job(request: HttpRequest, pk: int) -> Any:
    from medservice.core.models import ImportJob

    return get_object_or_404(ImportJob, pk=pk, uploaded_by=request.user)


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.core.imports import SPECS

    job = _own_job(request, pk)
    template = "core/import_progress.html" if request.htmx else "core/import_detail.html"
    return render(request, template, {"job": job, "spec": SPECS.get(job.kind)})


@login_required
@require_POST
def import_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.core.imports import import_confirm

    job = _own_job(request, pk)
    try:
        import_confirm(actor=request.user, job=job)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("core:import-detail", pk=job.pk)


import_detail.scoping_exempt = "a user's own import jobs only (uploaded_by=request.user)"
import_confirm_view.scoping_exempt = "a user's own import jobs only (uploaded_by=request.user)"
