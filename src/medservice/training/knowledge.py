"""The knowledge base (知识库): solutions and service bulletins per device model and fault code,
written by service staff and published by a service manager, each publication kept as a
numbered version; searched in Chinese and suggested on the ticket page and in the portal.

The rule for editing (chosen to be the simplest that is still sound):

- An article has one *working copy* (its own fields). Agents and engineers create and change
  it, whatever its status; a change never reaches readers by itself.
- `article_publish` (service managers: training.publish_knowledgearticle) snapshots the working
  copy as KnowledgeArticleVersion number n and sets `revision` to n: `revision` is always the
  version readers see (1 before the first publication). Each version stays readable.
- Staff (internal) read the working copy, marked when it has changed since the last version.
  Distributors and customers read only the published version (`article_published_content`)
  and are searched against it, so an edit waiting to be published never leaks.
- The audience of a published article is its `visibility`, which the scoping reads at once:
  narrowing a published article to staff applies immediately (anyone who may change it);
  widening it to customers needs the publish permission (it shows published content to
  customers, a publisher's decision).
- `article_withdraw` takes a published article away from readers outside the company, with a
  reason; publishing again brings it back as a new version.

Only internal staff write articles: the knowledge base is the company's, and distributor users
(who see published articles only) could not see their own drafts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    ConflictError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.numbering import number_next
from medservice.core.workflow import Transition, actions_allowed
from medservice.core.workflow import transition as workflow_transition
from medservice.customers.selectors import user_scope
from medservice.training.choices import ArticleKind, ArticleStatus, Visibility
from medservice.training.models import KnowledgeArticle, KnowledgeArticleVersion
from medservice.training.selectors import articles_visible_to
from medservice.training.workflow import ARTICLE_TRANSITIONS, PUBLISH_PERMISSION

NUMBER_PREFIX = "KB"
ADD_PERMISSION = "training.add_knowledgearticle"
CHANGE_PERMISSION = "training.change_knowledgearticle"
# The fields an edit may change; number, status, revision, author and dates are the services'.
EDITABLE_FIELDS = ("kind", "title", "symptom", "body", "visibility")
RELATED_FIELDS = ("device_models", "fault_codes")
# The content a version keeps: what a reader saw.
VERSIONED_FIELDS = ("title", "symptom", "body", "visibility")
# A fault-code tree is shallow; the bound only guards against a cycle in bad data.
MAX_FAULT_CODE_DEPTH = 20


# --- Who may write -------------------------------------------------------------------------------


def _require(actor: Any, permission: str, message: str) -> None:
    """People need the permission and must be company staff; jobs (actor None) act for the
    system."""
    if actor is None:
        return
    if not actor.has_perm(permission) or user_scope(actor) != "internal":
        raise PermissionDeniedError(message)


def article_actions_allowed(article: KnowledgeArticle, user: Any) -> list[tuple[str, Transition]]:
    """The publish/withdraw actions `user` may take now (the page offers only these)."""
    return actions_allowed(ARTICLE_TRANSITIONS, article, user)


def article_may_change(article: KnowledgeArticle, user: Any) -> bool:
    return user.has_perm(CHANGE_PERMISSION) and user_scope(user) == "internal"


# --- Content checks ------------------------------------------------------------------------------


def _clean_text(value: Any) -> str:
    return (value or "").strip()


def _content_problems(data: dict[str, Any], problems: Problems) -> None:
    if "title" in data and not _clean_text(data["title"]):
        problems.add("title", _("Give the article a title."))
    if "body" in data and not _clean_text(data["body"]):
        problems.add("body", _("Write the solution or the content of the article."))
    if "kind" in data and data["kind"] not in ArticleKind.values:
        problems.add("kind", _("Choose a solution or a service bulletin."))
    if "visibility" in data and data["visibility"] not in Visibility.values:
        problems.add("visibility", _("Choose who may read the article."))


def _set_related(article: KnowledgeArticle, related: dict[str, Iterable[Any] | None]) -> None:
    for name, values in related.items():
        if values is not None:
            getattr(article, name).set(list(values))


# --- Write ---------------------------------------------------------------------------------------


def article_create(
    *,
    actor: Any,
    title: str,
    body: str,
    kind: str = ArticleKind.SOLUTION,
    symptom: str = "",
    visibility: str = Visibility.INTERNAL,
    device_models: Iterable[Any] = (),
    fault_codes: Iterable[Any] = (),
) -> KnowledgeArticle:
    """Write a new article as a draft, numbered KB-<year>-<n>, by `actor` as its author."""
    _require(actor, ADD_PERMISSION, _("You may not write knowledge articles."))
    problems = Problems()
    content = {
        "kind": kind,
        "title": title,
        "symptom": symptom,
        "body": body,
        "visibility": visibility,
    }
    _content_problems(content, problems)
    problems.raise_if_any(_("The article was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        article = KnowledgeArticle.objects.create(
            number=number_next(prefix=NUMBER_PREFIX),
            kind=kind,
            title=_clean_text(title),
            symptom=_clean_text(symptom),
            body=body.strip(),
            visibility=visibility,
            status=ArticleStatus.DRAFT,
            author=actor,
        )
        _set_related(article, {"device_models": device_models, "fault_codes": fault_codes})
    return article


def article_update(
    *,
    actor: Any,
    article: KnowledgeArticle,
    data: dict[str, Any],
    expected_version: int | str | None = None,
) -> KnowledgeArticle:
    """Change the working copy (kind, title, symptom, body, visibility, device models, fault
    codes). A published article stays published: readers outside the company keep the
    published version until the change is published (see the module's rule)."""
    _require(actor, CHANGE_PERMISSION, _("You may not change knowledge articles."))
    changes = {key: value for key, value in data.items() if key in EDITABLE_FIELDS}
    related = {key: value for key, value in data.items() if key in RELATED_FIELDS}
    problems = Problems()
    _content_problems(changes, problems)
    problems.raise_if_any(_("The article was not saved."))
    with transaction.atomic(), audit_context(actor=actor):
        current = KnowledgeArticle.objects.select_for_update().get(pk=article.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _(
                    "%(record)s was changed by someone else after you opened it. "
                    "Reload it, then apply your change again."
                )
                % {"record": current}
            )
        widening = (
            current.status == ArticleStatus.PUBLISHED
            and changes.get("visibility", current.visibility) == Visibility.CUSTOMER
            and current.visibility != Visibility.CUSTOMER
        )
        if widening and actor is not None and not actor.has_perm(PUBLISH_PERMISSION):
            raise PermissionDeniedError(
                _(
                    "Only someone who may publish articles may show a published article to "
                    "customers."
                ),
                fields={"visibility": [_("Ask a service manager to publish it for customers.")]},
            )
        for key, value in changes.items():
            setattr(current, key, value.strip() if isinstance(value, str) else value)
        current.save()
        _set_related(current, related)
    return current


def _latest_version(article: KnowledgeArticle) -> KnowledgeArticleVersion | None:
    return article.versions.order_by("-revision").first()


def article_changed_since_published(article: KnowledgeArticle) -> bool:
    """Whether the working copy differs from the last published version (True when never
    published)."""
    latest = _latest_version(article)
    if latest is None:
        return True
    return any(getattr(article, name) != getattr(latest, name) for name in VERSIONED_FIELDS)


def article_publish(
    *, actor: Any, article: KnowledgeArticle, change_note: str = ""
) -> KnowledgeArticle:
    """Publish the working copy as the next version: snapshot it, number it, and make it what
    readers see. Republishing needs a note of what changed; publishing an unchanged published
    article is refused (there is nothing new to publish). The state and the permission are
    checked first (409, 403), then the inputs (400); a refusal leaves nothing behind."""
    change_note = _clean_text(change_note)
    with transaction.atomic():
        before = KnowledgeArticle.objects.select_for_update().get(pk=article.pk)
        latest = _latest_version(before)
        unchanged = (
            before.status == ArticleStatus.PUBLISHED and not article_changed_since_published(before)
        )
        revision = (latest.revision + 1) if latest is not None else 1
        now = timezone.now()
        published = workflow_transition(
            before,
            "publish",
            transitions=ARTICLE_TRANSITIONS,
            actor=actor,
            reason=change_note,
            changes={"revision": revision, "published_at": now},
        )
        if unchanged:
            raise InvalidTransitionError(
                _("%(article)s has not changed since version %(revision)s was published.")
                % {"article": before.number, "revision": before.revision}
            )
        if latest is not None and not change_note:
            problems = Problems()
            problems.add(
                "change_note",
                _("Say what changed since version %(revision)s.") % {"revision": latest.revision},
            )
            problems.raise_if_any(_("The article was not published."))
        KnowledgeArticleVersion.objects.create(
            article=published,
            revision=revision,
            title=published.title,
            symptom=published.symptom,
            body=published.body,
            visibility=published.visibility,
            change_note=change_note[:300],
            published_by=actor,
            published_at=now,
        )
    return published


def article_withdraw(*, actor: Any, article: KnowledgeArticle, reason: str) -> KnowledgeArticle:
    """Take a published article away from readers outside the company (wrong, outdated,
    superseded), saying why. Its versions are kept; publishing again brings it back."""
    reason = _clean_text(reason)
    with transaction.atomic():
        withdrawn = workflow_transition(
            article, "withdraw", transitions=ARTICLE_TRANSITIONS, actor=actor, reason=reason
        )
        if not reason:
            # Raised inside the transaction: the state change above is undone with it.
            problems = Problems()
            problems.add("reason", _("Say why the article is withdrawn."))
            problems.raise_if_any(_("The article was not withdrawn."))
    return withdrawn


# --- Read ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleContent:
    """What a reader is shown of an article: the working copy (staff) or a published
    version (everyone else, and anyone reading an old version)."""

    title: str
    symptom: str
    body: str
    revision: int
    published_at: Any
    change_note: str = ""


def article_content_for(article: KnowledgeArticle, user: Any) -> ArticleContent | None:
    """Staff read the working copy; others read the version published last (None when there
    is none, which scoping already prevents)."""
    if user_scope(user) == "internal":
        return ArticleContent(
            title=article.title,
            symptom=article.symptom,
            body=article.body,
            revision=article.revision,
            published_at=article.published_at,
        )
    return article_published_content(article)


def article_published_content(article: KnowledgeArticle) -> ArticleContent | None:
    """The version readers outside the company see (the latest one published)."""
    version = (
        KnowledgeArticleVersion.objects.filter(article=article, revision=article.revision)
        .only("title", "symptom", "body", "revision", "published_at", "change_note")
        .first()
    )
    if version is None:
        return None
    return ArticleContent(
        title=version.title,
        symptom=version.symptom,
        body=version.body,
        revision=version.revision,
        published_at=version.published_at,
        change_note=version.change_note,
    )


def _terms(text: str) -> list[str]:
    # Chinese has no spaces between words: each whitespace-separated term is matched as a
    # substring (icontains), which finds 血氧 inside 血氧饱和度 without a tokeniser.
    return [term for term in (text or "").split() if term][:10]


def _term_condition(term: str, prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}title__icontains": term})
        | Q(**{f"{prefix}symptom__icontains": term})
        | Q(**{f"{prefix}body__icontains": term})
    )


def articles_search(
    user: Any,
    text: str,
    *,
    device_model: Any = None,
    fault_code: Any = None,
) -> QuerySet[KnowledgeArticle]:
    """The articles `user` may read in which every term of `text` (split on whitespace)
    occurs in the title, symptom or body; the more terms in the title, the higher. Staff
    search the working copy; others the published version they would read. An empty text
    matches everything. Optionally only those for a device model or fault code."""
    queryset = articles_visible_to(user)
    if device_model is not None:
        queryset = queryset.filter(
            Exists(
                KnowledgeArticle.device_models.through.objects.filter(
                    knowledgearticle_id=OuterRef("pk"),
                    devicemodel_id=getattr(device_model, "pk", device_model),
                )
            )
        )
    if fault_code is not None:
        queryset = queryset.filter(
            Exists(
                KnowledgeArticle.fault_codes.through.objects.filter(
                    knowledgearticle_id=OuterRef("pk"),
                    faultcode_id=getattr(fault_code, "pk", fault_code),
                )
            )
        )
    terms = _terms(text)
    if not terms:
        return queryset.annotate(title_hits=Value(0, output_field=IntegerField()))
    internal = user_scope(user) == "internal"
    title_hits: Any = Value(0, output_field=IntegerField())
    if internal:
        for term in terms:
            queryset = queryset.filter(Q(number__icontains=term) | _term_condition(term))
            title_hits = title_hits + Case(
                When(title__icontains=term, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
    else:
        published = KnowledgeArticleVersion.objects.filter(
            article_id=OuterRef("pk"), revision=OuterRef("revision")
        )
        for term in terms:
            queryset = queryset.filter(
                Q(number__icontains=term) | Exists(published.filter(_term_condition(term)))
            )
            title_hits = title_hits + Case(
                When(Exists(published.filter(title__icontains=term)), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
    return queryset.annotate(title_hits=title_hits).order_by("-title_hits", "-published_at", "-pk")


def fault_code_lineage(fault_code: Any) -> list[int]:
    """The fault code's id and its parents' ids, nearest first (an article about "display
    fault" helps with "black screen" below it)."""
    from medservice.catalog.models import FaultCode

    ids: list[int] = []
    current = (
        fault_code if isinstance(fault_code, FaultCode) else FaultCode.objects.get(pk=fault_code)
    )
    while current is not None and current.pk not in ids and len(ids) < MAX_FAULT_CODE_DEPTH:
        ids.append(current.pk)
        parent_id = current.parent_id
        current = FaultCode.objects.filter(pk=parent_id).first() if parent_id else None
    return ids


def articles_suggested(
    user: Any, *, device_model: Any, fault_code: Any = None, limit: int = 5
) -> list[KnowledgeArticle]:
    """Published articles that may help with a device (for the ticket and work-order pages),
    best first: those for the device's model and the fault (its code or a parent code), those
    for the model, then articles for the model's product line through its fault codes (the
    fault's first) that name no other model. Scoped to what `user` may read."""
    if device_model is None and fault_code is None:
        return []
    through_models = KnowledgeArticle.device_models.through.objects.filter(
        knowledgearticle_id=OuterRef("pk")
    )
    through_codes = KnowledgeArticle.fault_codes.through.objects.filter(
        knowledgearticle_id=OuterRef("pk")
    )
    never: Q = Q(pk__in=[])
    for_model: Any = never
    for_line: Any = never
    for_fault: Any = never
    if device_model is not None:
        model_id = getattr(device_model, "pk", device_model)
        line_id = getattr(device_model, "product_line_id", None)
        if line_id is None and not hasattr(device_model, "product_line_id"):
            from medservice.catalog.models import DeviceModel

            line_id = (
                DeviceModel.objects.filter(pk=model_id)
                .values_list("product_line_id", flat=True)
                .first()
            )
        for_model = Exists(through_models.filter(devicemodel_id=model_id))
        if line_id is not None:
            # A line's article that names models names them on purpose: only ours, or none.
            for_line = Exists(through_codes.filter(faultcode__product_line_id=line_id)) & ~Exists(
                through_models.exclude(devicemodel_id=model_id)
            )
    if fault_code is not None:
        for_fault = Exists(through_codes.filter(faultcode_id__in=fault_code_lineage(fault_code)))
        if device_model is None:
            for_line = for_fault
    rank = Case(
        When(for_model & for_fault, then=Value(0)),
        When(for_model, then=Value(1)),
        When(for_fault, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return list(
        with_published_title(articles_visible_to(user))
        .filter(status=ArticleStatus.PUBLISHED)
        .filter(for_model | for_line)
        .annotate(suggestion_rank=rank)
        .order_by("suggestion_rank", "-published_at", "-pk")[:limit]
    )


def with_published_title(queryset: QuerySet[KnowledgeArticle]) -> QuerySet[KnowledgeArticle]:
    """Add `published_title`, the title of the version readers outside the company see (lists
    for them show it, not the working copy's)."""
    return queryset.annotate(
        published_title=Subquery(
            KnowledgeArticleVersion.objects.filter(
                article_id=OuterRef("pk"), revision=OuterRef("revision")
            ).values("title")[:1]
        )
    )


def articles_for_models(user: Any, device_model_ids: Any) -> QuerySet[KnowledgeArticle]:
    """Published articles `user` may read that are about one of the models (ids, or a subquery
    of them), or about no model in particular (general help): the portal's help list, with
    the published title."""
    through_models = KnowledgeArticle.device_models.through.objects.filter(
        knowledgearticle_id=OuterRef("pk")
    )
    return (
        with_published_title(articles_visible_to(user))
        .filter(status=ArticleStatus.PUBLISHED)
        .filter(
            Exists(through_models.filter(devicemodel_id__in=device_model_ids))
            | ~Exists(through_models)
        )
    )
