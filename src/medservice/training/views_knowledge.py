"""The knowledge-base pages (知识库): the resource (list with Chinese text search and filters,
record page, form, API), the article's content and version history on its page, an old
version to read, and the publish and withdraw forms for those who may.

Forms check shape only; the services in training/knowledge.py decide, and their refusals come
back on the named fields. Staff read the working copy; everyone else the published version."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.catalog.selectors import device_models_visible_to, fault_codes_visible_to
from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Resource, register
from medservice.core.views import (
    ResourceDetailView,
    ResourceListView,
    resource_urlpatterns,
)
from medservice.customers.selectors import user_scope
from medservice.training.api.knowledge import (
    KnowledgeArticleSerializer,
    article_create_from_data,
    article_update_from_data,
    versions_visible_to,
)
from medservice.training.choices import ArticleKind, ArticleStatus, Visibility
from medservice.training.knowledge import (
    article_actions_allowed,
    article_changed_since_published,
    article_content_for,
    article_publish,
    article_withdraw,
    articles_search,
)
from medservice.training.models import KnowledgeArticle
from medservice.training.selectors import articles_visible_to
from medservice.training.workflow import ARTICLE_TRANSITIONS


def _bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    for field in form.fields.values():
        field.widget.attrs.setdefault("class", "form-control")
    return form


# --- List filters -----------------------------------------------------------------------------


class KnowledgeArticleFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=gettext_lazy("Kind"), choices=ArticleKind.choices)
    visibility = django_filters.ChoiceFilter(
        label=gettext_lazy("Visible to"), choices=Visibility.choices
    )
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=ArticleStatus.choices
    )
    device_model = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Device model"),
        field_name="device_models",
        queryset=lambda request: device_models_visible_to(getattr(request, "user", None)).order_by(
            "name", "model_spec"
        ),
    )

    class Meta:
        model = KnowledgeArticle
        fields = ["kind", "visibility", "status", "device_model"]


# --- Form -------------------------------------------------------------------------------------


class KnowledgeArticleForm(ResourceForm):
    """The working copy of an article; publishing is a separate step on the article's page."""

    class Meta:
        model = KnowledgeArticle
        fields = ["kind", "title", "symptom", "body", "visibility", "device_models", "fault_codes"]
        widgets = {
            "symptom": forms.Textarea(attrs={"rows": 3}),
            "body": forms.Textarea(attrs={"rows": 12}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device_models"].queryset = device_models_visible_to(self.user).order_by(
            "name", "model_spec"
        )
        self.fields["fault_codes"].queryset = (
            fault_codes_visible_to(self.user)
            .select_related("product_line")
            .order_by("product_line__name", "code")
        )


# --- The resource -----------------------------------------------------------------------------


class KnowledgeArticleListView(ResourceListView):
    """The generic list, whose search box runs the knowledge search: every term must occur,
    title matches first (the generic search would look for the whole phrase)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        text = request.GET.get("q", "").strip()
        if text and not request.GET.get("sort"):
            # The search's ranking is the order, unless the user sorts by a column.
            self.resource = replace(self.resource, default_ordering=["-title_hits", "-pk"])
        return super().get(request)

    def scoped(self) -> Any:
        text = self.request.GET.get("q", "").strip()
        if not text:
            return super().scoped()
        queryset = articles_search(self.request.user, text)
        if self.resource.select_related:
            queryset = queryset.select_related(*self.resource.select_related)
        return queryset


class ArticleActionForm(forms.Form):
    """Publish (what changed) or withdraw (why)."""

    def __init__(self, *args: Any, name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if name == "publish":
            self.fields["change_note"] = forms.CharField(
                label=gettext_lazy("What changed"), max_length=300, required=False
            )
        else:
            self.fields["reason"] = forms.CharField(
                label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2})
            )
        _bootstrap(self)


ACTION_SERVICES = {"publish": article_publish, "withdraw": article_withdraw}


class KnowledgeArticleDetailView(ResourceDetailView):
    """The article's page adds its content (the working copy for staff, the published version
    for others), whether it changed since it was published, its version history and the
    publish/withdraw forms the user may use."""

    extra_template = "training/knowledge_panel.html"
    bound_forms: dict[str, forms.Form] | None = None

    def get_object(self) -> Any:
        article = super().get_object()
        content = article_content_for(article, self.request.user)
        if content is None:
            raise Http404
        # Headings show str(article): outside the company, the published title.
        article.title = content.title
        self.content = content
        return article

    def extra_context_for(self, obj: KnowledgeArticle) -> dict[str, Any]:
        user = self.request.user
        internal = user_scope(user) == "internal"
        bound = self.bound_forms or {}
        actions = [
            {
                "name": name,
                "transition": item,
                "form": bound.get(name) or ArticleActionForm(name=name),
                "open": name in bound,
            }
            for name, item in article_actions_allowed(obj, user)
        ]
        extra: dict[str, Any] = {
            "content": self.content,
            "article_versions": list(versions_visible_to(user, obj)),
            "article_actions": actions,
            "internal": internal,
            "changed_since_published": internal
            and obj.status != ArticleStatus.DRAFT
            and article_changed_since_published(obj),
        }
        if not internal:
            # The audit trail shows edits of the working copy: staff only.
            extra["history"] = []
        return extra


knowledge_articles = register(
    Resource(
        name="knowledge-articles",
        model=KnowledgeArticle,
        selector=articles_visible_to,
        namespace="training",
        list_columns=[
            "number",
            "title",
            "kind",
            "status",
            "visibility",
            "revision",
            "published_at",
        ],
        detail_fields=[
            "number",
            "kind",
            "status",
            "visibility",
            "revision",
            "published_at",
            "device_models",
            "fault_codes",
        ],
        export_fields=[
            "id",
            "number",
            "kind",
            "title",
            "status",
            "visibility",
            "revision",
            "author",
            "published_at",
            "device_models",
            "fault_codes",
        ],
        form_class=KnowledgeArticleForm,
        filterset_class=KnowledgeArticleFilter,
        serializer_class=KnowledgeArticleSerializer,
        # Searched by articles_search (the list view above and the API's ?q=), not generically.
        search_fields=[],
        ordering_fields=["number", "published_at", "title"],
        default_ordering=["-id"],
        prefetch_related=["device_models", "fault_codes"],
        create=article_create_from_data,
        update=article_update_from_data,
        delete=None,
        organization_scoped=False,
        detail_view=KnowledgeArticleDetailView,
    )
)


# --- Views ------------------------------------------------------------------------------------


def _scoped_article(request: HttpRequest, pk: int) -> KnowledgeArticle:
    if not request.user.has_perm("training.view_knowledgearticle"):
        raise Http404
    return get_object_or_404(articles_visible_to(request.user), pk=pk)


def _detail_again(
    request: HttpRequest, article: KnowledgeArticle, status: int, **state: Any
) -> HttpResponse:
    view = KnowledgeArticleDetailView()
    view.resource = knowledge_articles
    view.request = request
    view.kwargs = {"pk": article.pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=article.pk)
    response.status_code = status
    return response


@login_required
@require_POST
def article_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Publish or withdraw from the small form on the article's page; a refusal is shown on
    the page with what was typed kept."""
    article = _scoped_article(request, pk)
    if name not in ACTION_SERVICES:
        raise Http404
    form = ArticleActionForm(request.POST, name=name)
    if not form.is_valid():
        return _detail_again(request, article, 400, bound_forms={name: form})
    try:
        ACTION_SERVICES[name](actor=request.user, article=article, **form.cleaned_data)
    except (PermissionDeniedError, InvalidTransitionError) as error:
        messages.error(request, error.message)
        return _detail_again(request, article, error.status)
    except DomainError as error:
        form.add_error(None, error.message)
        for field, problems in error.fields.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return _detail_again(request, article, error.status, bound_forms={name: form})
    messages.success(request, _("%(action)s: done.") % {"action": ARTICLE_TRANSITIONS[name].label})
    return redirect("training:knowledge-articles-detail", pk=article.pk)


article_action.resource = knowledge_articles  # type: ignore[attr-defined]


@login_required
def article_version(request: HttpRequest, pk: int, revision: int) -> HttpResponse:
    """One published version as it was, with a link back to the article."""
    article = _scoped_article(request, pk)
    version = get_object_or_404(versions_visible_to(request.user, article), revision=revision)
    return render(
        request,
        "training/knowledge_version.html",
        {"article": article, "version": version},
    )


article_version.resource = knowledge_articles  # type: ignore[attr-defined]


def _urlpatterns() -> list[Any]:
    patterns = resource_urlpatterns(knowledge_articles)
    # The list runs the knowledge search: swap the generic list view for ours.
    list_view = KnowledgeArticleListView.as_view(resource=knowledge_articles)
    list_view.resource = knowledge_articles  # type: ignore[attr-defined]
    patterns[0] = path("knowledge-articles/", list_view, name="knowledge-articles-list")
    return patterns


urlpatterns = [
    *_urlpatterns(),
    path(
        "knowledge-articles/<int:pk>/versions/<int:revision>/",
        article_version,
        name="knowledge-article-version",
    ),
    path(
        "knowledge-articles/<int:pk>/<str:name>/",
        article_action,
        name="knowledge-article-action",
    ),
]
