"""The knowledge-base API: list (with `?q=` Chinese text search and filters), read, write
drafts, POST /api/v1/knowledge-articles/{id}/publish|withdraw/, and
GET /api/v1/knowledge-articles/{id}/versions/. The serializers check shape; the services in
training/knowledge.py decide."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.catalog.selectors import device_models_visible_to, fault_codes_visible_to
from medservice.core.api.inputs import action_input
from medservice.customers.selectors import user_scope
from medservice.training.choices import Visibility
from medservice.training.knowledge import (
    article_create,
    article_publish,
    article_update,
    article_withdraw,
    articles_search,
)
from medservice.training.models import KnowledgeArticle, KnowledgeArticleVersion
from medservice.training.workflow import ARTICLE_TRANSITIONS

CONTENT_FIELDS = ("title", "symptom", "body")


def with_published_content(queryset: QuerySet[KnowledgeArticle]) -> QuerySet[KnowledgeArticle]:
    """Add the published version's title, symptom and body (published_<field>): readers outside
    the company are shown those, never the working copy. One query for the whole page."""
    published = KnowledgeArticleVersion.objects.filter(
        article_id=OuterRef("pk"), revision=OuterRef("revision")
    )
    return queryset.annotate(
        **{f"published_{name}": Subquery(published.values(name)[:1]) for name in CONTENT_FIELDS}
    )


def versions_visible_to(user: Any, article: KnowledgeArticle) -> QuerySet[KnowledgeArticleVersion]:
    """The versions of an article `user` may read: all for staff and distributors; for
    customers only those that were published for customers (an earlier version may have
    been for staff only)."""
    versions = KnowledgeArticleVersion.objects.filter(article=article)
    if user_scope(user) == "customer":
        versions = versions.filter(visibility=Visibility.CUSTOMER)
    return versions.select_related("published_by").order_by("-revision")


class KnowledgeArticleSerializer(serializers.ModelSerializer):
    """A knowledge article. Staff read and write the working copy; distributors and
    customers read the published version (title, symptom, body as published)."""

    class Meta:
        model = KnowledgeArticle
        fields = [
            "id",
            "number",
            "kind",
            "title",
            "symptom",
            "body",
            "device_models",
            "fault_codes",
            "visibility",
            "status",
            "revision",
            "author",
            "published_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "number",
            "status",
            "revision",
            "author",
            "published_at",
            "created_at",
            "updated_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Related records come from the catalogue's selectors, as in the UI.
            self.fields["device_models"].child_relation.queryset = device_models_visible_to(
                request.user
            )
            self.fields["fault_codes"].child_relation.queryset = fault_codes_visible_to(
                request.user
            )

    def to_representation(self, instance: KnowledgeArticle) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and user_scope(request.user) != "internal":
            for name in CONTENT_FIELDS:
                data[name] = getattr(instance, f"published_{name}", None) or ""
        return data


class KnowledgeArticleVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = KnowledgeArticleVersion
        fields = [
            "revision",
            "title",
            "symptom",
            "body",
            "visibility",
            "change_note",
            "published_by",
            "published_at",
        ]
        read_only_fields = fields


class PublishSerializer(serializers.Serializer):
    change_note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=300,
        help_text="What changed (required from the second version on).",
    )


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


_RESPONSES = {
    200: KnowledgeArticleSerializer,
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not publish or withdraw articles."),
    404: OpenApiResponse(description="No such article in your scope."),
    409: OpenApiResponse(description="Not possible in the article's state."),
}


def article_create_from_data(
    *, actor: Any, model: type[KnowledgeArticle] = KnowledgeArticle, data: dict[str, Any]
) -> KnowledgeArticle:
    """The generic create (form and API) of an article: a draft by the actor."""
    return article_create(
        actor=actor,
        title=data.get("title", ""),
        body=data.get("body", ""),
        kind=data.get("kind") or KnowledgeArticle._meta.get_field("kind").default,
        symptom=data.get("symptom", ""),
        visibility=data.get("visibility") or Visibility.INTERNAL,
        device_models=data.get("device_models") or (),
        fault_codes=data.get("fault_codes") or (),
    )


def article_update_from_data(
    *,
    actor: Any,
    instance: KnowledgeArticle,
    data: dict[str, Any],
    expected_version: Any = None,
) -> KnowledgeArticle:
    """The generic edit (form and API): the working copy changes, see training/knowledge.py."""
    return article_update(
        actor=actor, article=instance, data=data, expected_version=expected_version
    )


def viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    class KnowledgeArticleViewSet(resource_viewset(resource)):  # type: ignore[misc]
        """Knowledge articles (知识库). `?q=` searches Chinese text: every whitespace-separated
        term must occur in the title, symptom or body; title matches come first. Filters:
        kind, visibility, status, device_model. Publish and withdraw are POST actions; a
        refused one answers 409 (state), 403 (role) or 400 (input)."""

        transitions = ARTICLE_TRANSITIONS

        def get_queryset(self) -> Any:
            user = self.request.user
            text = self.request.query_params.get("q", "").strip()
            if text and self.action == "list":
                queryset = articles_search(user, text)
            else:
                queryset = resource.queryset_for(user).order_by(*resource.default_ordering)
            queryset = queryset.prefetch_related("device_models", "fault_codes")
            if user_scope(user) != "internal":
                queryset = with_published_content(queryset)
            return queryset

        @extend_schema(
            parameters=[
                OpenApiParameter(
                    "q", OpenApiTypes.STR, description="Words to find (space-separated)."
                )
            ]
        )
        def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            return super().list(request, *args, **kwargs)

        def _answer(self, article: KnowledgeArticle) -> Response:
            article = self.get_queryset().get(pk=article.pk)
            return Response(
                KnowledgeArticleSerializer(article, context=self.get_serializer_context()).data
            )

        @extend_schema(request=PublishSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def publish(self, request: Request, pk: Any = None) -> Response:
            """Publish the working copy as the next version (a note of what changed is
            required from the second version on)."""
            article = self.get_object()
            data = action_input(PublishSerializer, request)
            return self._answer(
                article_publish(
                    actor=request.user, article=article, change_note=data["change_note"]
                )
            )

        @extend_schema(request=WithdrawSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def withdraw(self, request: Request, pk: Any = None) -> Response:
            """Withdraw a published article, with the reason (required)."""
            article = self.get_object()
            data = action_input(WithdrawSerializer, request)
            return self._answer(
                article_withdraw(actor=request.user, article=article, reason=data["reason"])
            )

        @extend_schema(request=None, responses=KnowledgeArticleVersionSerializer(many=True))
        # Every version in one answer (not paginated), so the schema says a plain array.
        @action(detail=True, methods=["get"], pagination_class=None)
        def versions(self, request: Request, pk: Any = None) -> Response:
            """The published versions, newest first (customers: those published for them)."""
            article = self.get_object()
            versions = versions_visible_to(request.user, article)
            return Response(KnowledgeArticleVersionSerializer(versions, many=True).data)

    return KnowledgeArticleViewSet


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
    # The resource is declared with the pages (views_knowledge.py), which import the
    # serializers above: imported here, when the router is built, not at module import.
    from medservice.training.views_knowledge import knowledge_articles

    router.register(
        "knowledge-articles", viewset_for(knowledge_articles), basename="knowledgearticle"
    )
