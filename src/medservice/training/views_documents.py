"""Controlled documents pages: the register of documents (list, detail, new, edit) with their
versions as a tab and the add-version form; a page per version with its file, its signature,
the approve form (password re-entered) and the withdraw form."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Related, Resource, register
from medservice.core.signatures import signatures_of
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.training.choices import DocumentKind, DocumentVersionStatus
from medservice.training.documents import (
    APPROVE_PERMISSION,
    document_create,
    document_update,
    document_version_add,
    document_version_approval_refusal,
    document_version_approve,
    document_version_current,
    document_version_upcoming,
    document_version_update,
    document_version_withdraw,
)
from medservice.training.models import ControlledDocument, DocumentVersion
from medservice.training.selectors import document_versions_visible_to, documents_visible_to

DATE_WIDGET = {"attrs": {"type": "date", "class": "form-control"}, "format": "%Y-%m-%d"}


def document_owner_choices() -> QuerySet:
    """Who may own a document: the company's active staff (never a distributor or customer)."""
    from medservice.accounts.models import User

    return User.objects.filter(is_active=True, organization__kind="company").order_by("username")


class DocumentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=gettext_lazy("Kind"), choices=DocumentKind.choices)

    class Meta:
        model = ControlledDocument
        fields = ["kind"]


class DocumentVersionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=DocumentVersionStatus.choices
    )

    class Meta:
        model = DocumentVersion
        fields = ["status", "document"]

    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        user = getattr(request, "user", None)
        self.filters["document"].queryset = documents_visible_to(user)


class DocumentForm(ResourceForm):
    class Meta:
        model = ControlledDocument
        fields = ["code", "title", "kind", "device_models", "owner"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.catalog.selectors import device_models_visible_to

        self.fields["device_models"].queryset = device_models_visible_to(self.user)
        self.fields["owner"].queryset = document_owner_choices()


class DocumentVersionForm(ResourceForm):
    """A draft's content (the generic edit page); approval and withdrawal are actions."""

    class Meta:
        model = DocumentVersion
        fields = ["version_label", "file", "change_summary", "effective_on"]
        widgets = {
            "change_summary": forms.Textarea(attrs={"rows": 3}),
            "effective_on": forms.DateInput(**DATE_WIDGET),
        }
        labels = {"effective_on": gettext_lazy("Proposed effective date")}


class VersionAddForm(forms.Form):
    version_label = forms.CharField(
        label=gettext_lazy("Version"),
        max_length=20,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "A/1"}),
    )
    file = forms.FileField(
        label=gettext_lazy("File"), widget=forms.ClearableFileInput(attrs={"class": "form-control"})
    )
    change_summary = forms.CharField(
        label=gettext_lazy("What changed"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
    effective_on = forms.DateField(
        label=gettext_lazy("Proposed effective date"),
        required=False,
        widget=forms.DateInput(**DATE_WIDGET),
    )


class VersionApproveForm(forms.Form):
    effective_on = forms.DateField(
        label=gettext_lazy("Effective from"),
        required=False,
        help_text=gettext_lazy("Today if left empty (or the date proposed on the draft)."),
        widget=forms.DateInput(**DATE_WIDGET),
    )
    password = forms.CharField(
        label=gettext_lazy("Your password (electronic signature)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )


class VersionWithdrawForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is it withdrawn?"),
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


def _versions_of(document: ControlledDocument, user: Any) -> QuerySet[DocumentVersion]:
    return (
        document_versions_visible_to(user)
        .filter(document=document)
        .select_related("approved_by")
        .order_by("-effective_on", "-pk")
    )


class DocumentDetailView(ResourceDetailView):
    extra_template = "training/document_panel.html"

    def extra_context_for(self, obj: ControlledDocument) -> dict[str, Any]:
        user = self.request.user
        visible = document_versions_visible_to(user).filter(document=obj)
        current = document_version_current(obj)
        upcoming = document_version_upcoming(obj)
        bound = getattr(self, "bound_forms", {})
        return {
            "document": obj,
            # Never name a version the user may not open (a draft for a distributor).
            "current_version": current if current and visible.filter(pk=current.pk) else None,
            "upcoming_version": upcoming if upcoming and visible.filter(pk=upcoming.pk) else None,
            "add_version_form": bound.get("add-version") or VersionAddForm()
            if user.has_perm("training.add_documentversion")
            else None,
        }


documents = register(
    Resource(
        name="documents",
        model=ControlledDocument,
        selector=documents_visible_to,
        namespace="training",
        list_columns=["code", "title", "kind", "owner"],
        detail_fields=["code", "title", "kind", "device_models", "owner"],
        export_fields=["id", "code", "title", "kind", "owner"],
        form_class=DocumentForm,
        filterset_class=DocumentFilter,
        search_fields=["code", "title"],
        ordering_fields=["code", "title", "kind"],
        default_ordering=["code"],
        select_related=["owner"],
        create=document_create,
        update=document_update,
        delete=None,
        organization_scoped=False,
        detail_view=DocumentDetailView,
        related=[
            Related(
                gettext_lazy("Versions"),
                _versions_of,
                [
                    "version_label",
                    "status",
                    "effective_on",
                    "superseded_on",
                    "approved_by",
                    "change_summary",
                ],
                detail_url_name="training:document-versions-detail",
            )
        ],
    )
)


class DocumentVersionDetailView(ResourceDetailView):
    extra_template = "training/document_version_panel.html"

    def extra_context_for(self, obj: DocumentVersion) -> dict[str, Any]:
        user = self.request.user
        bound = getattr(self, "bound_forms", {})
        refusal = document_version_approval_refusal(obj, user)
        may_withdraw = obj.status == DocumentVersionStatus.DRAFT and user.has_perm(
            "training.change_documentversion"
        )
        may_withdraw = may_withdraw or (
            obj.status == DocumentVersionStatus.APPROVED and user.has_perm(APPROVE_PERMISSION)
        )
        current = document_version_current(obj.document)
        today = timezone.localdate()
        return {
            "version": obj,
            "is_current": current is not None and current.pk == obj.pk,
            "takes_effect_later": obj.status == DocumentVersionStatus.APPROVED
            and obj.effective_on is not None
            and obj.effective_on > today,
            "signatures": signatures_of(obj),
            # Only an approver who did not write it sees why not; others see no form at all.
            "approval_refusal": refusal
            if obj.status == DocumentVersionStatus.DRAFT and user.has_perm(APPROVE_PERMISSION)
            else "",
            "approve_form": bound.get("approve") or VersionApproveForm() if not refusal else None,
            "withdraw_form": bound.get("withdraw") or VersionWithdrawForm()
            if may_withdraw
            else None,
            "open_form": next(iter(bound), ""),
        }


document_versions = register(
    Resource(
        name="document-versions",
        model=DocumentVersion,
        selector=document_versions_visible_to,
        namespace="training",
        list_columns=[
            "document",
            "version_label",
            "status",
            "effective_on",
            "superseded_on",
            "approved_by",
        ],
        detail_fields=[
            "document",
            "version_label",
            "status",
            "change_summary",
            "effective_on",
            "superseded_on",
            "approved_by",
            "signed_at",
        ],
        export_fields=[
            "id",
            "document",
            "version_label",
            "status",
            "effective_on",
            "superseded_on",
            "approved_by",
            "signed_at",
        ],
        form_class=DocumentVersionForm,
        filterset_class=DocumentVersionFilter,
        search_fields=["version_label", "document__code", "document__title"],
        ordering_fields=["effective_on", "status", "version_label"],
        default_ordering=["document__code", "-effective_on", "-pk"],
        select_related=["document", "approved_by"],
        # Versions are added from their document's page (they belong to one).
        create=None,
        update=document_version_update,
        delete=None,
        organization_scoped=False,
        detail_view=DocumentVersionDetailView,
    )
)


# --- Actions --------------------------------------------------------------------------------


def _scoped_document(request: HttpRequest, pk: int) -> ControlledDocument:
    if not request.user.has_perm("training.view_controlleddocument"):
        raise Http404
    return get_object_or_404(documents_visible_to(request.user), pk=pk)


def _scoped_version(request: HttpRequest, pk: int) -> DocumentVersion:
    if not request.user.has_perm("training.view_documentversion"):
        raise Http404
    return get_object_or_404(
        document_versions_visible_to(request.user).select_related("document"), pk=pk
    )


def _page_again(
    request: HttpRequest,
    view_class: type[ResourceDetailView],
    resource: Resource,
    pk: int,
    status: int,
    bound: dict[str, Any],
) -> HttpResponse:
    view = view_class()
    view.resource = resource
    view.request = request
    view.kwargs = {"pk": pk}
    view.bound_forms = bound
    response = view.get(request, pk=pk)
    response.status_code = status
    return response


def _add_errors(form: forms.Form, error: DomainError) -> None:
    form.add_error(None, error.message)
    for field, problems in error.fields.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


@login_required
@require_POST
def document_version_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    document = _scoped_document(request, pk)
    form = VersionAddForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page_again(request, DocumentDetailView, documents, pk, 400, {"add-version": form})
    try:
        version = document_version_add(actor=request.user, document=document, **form.cleaned_data)
    except DomainError as error:
        _add_errors(form, error)
        return _page_again(
            request, DocumentDetailView, documents, pk, error.status, {"add-version": form}
        )
    messages.success(
        request, gettext("Version %(version)s is drafted.") % {"version": version.version_label}
    )
    return redirect("training:document-versions-detail", pk=version.pk)


document_version_add_view.resource = documents  # type: ignore[attr-defined]


@login_required
@require_POST
def document_version_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _scoped_version(request, pk)
    form = VersionApproveForm(request.POST)
    if not form.is_valid():
        return _page_again(
            request, DocumentVersionDetailView, document_versions, pk, 400, {"approve": form}
        )
    try:
        document_version_approve(actor=request.user, version=version, **form.cleaned_data)
    except DomainError as error:
        _add_errors(form, error)
        return _page_again(
            request,
            DocumentVersionDetailView,
            document_versions,
            pk,
            error.status,
            {"approve": form},
        )
    messages.success(request, gettext("%(version)s is approved.") % {"version": version})
    return redirect("training:document-versions-detail", pk=version.pk)


document_version_approve_view.resource = document_versions  # type: ignore[attr-defined]


@login_required
@require_POST
def document_version_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _scoped_version(request, pk)
    form = VersionWithdrawForm(request.POST)
    if not form.is_valid():
        return _page_again(
            request, DocumentVersionDetailView, document_versions, pk, 400, {"withdraw": form}
        )
    try:
        document_version_withdraw(
            actor=request.user, version=version, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        _add_errors(form, error)
        return _page_again(
            request,
            DocumentVersionDetailView,
            document_versions,
            pk,
            error.status,
            {"withdraw": form},
        )
    messages.success(request, gettext("%(version)s is withdrawn.") % {"version": version})
    return redirect("training:document-versions-detail", pk=version.pk)


document_version_withdraw_view.resource = document_versions  # type: ignore[attr-defined]


@login_required
def document_version_file(request: HttpRequest, pk: int) -> FileResponse:
    """Download the version's file; scoped like the version (a distributor: approved only)."""
    version = _scoped_version(request, pk)
    if not version.file:
        raise Http404
    return FileResponse(
        version.file.open("rb"),
        as_attachment=True,
        filename=version.file.name.rsplit("/", 1)[-1],
    )


document_version_file.resource = document_versions  # type: ignore[attr-defined]


urlpatterns = [
    *resource_urlpatterns(documents),
    *resource_urlpatterns(document_versions),
    path("documents/<int:pk>/versions/new/", document_version_add_view,
         name="document-version-add"),
    path("document-versions/<int:pk>/approve/", document_version_approve_view,
         name="document-version-approve"),
    path("document-versions/<int:pk>/withdraw/", document_version_withdraw_view,
         name="document-version-withdraw"),
    path("document-versions/<int:pk>/file/", document_version_file,
         name="document-version-file"),
]  # fmt: skip
