"""The training app's workflows as data: the knowledge articles' publishing. The services, the
API actions and the buttons on an article's page all read this table. (Document versions move
draft → approved → superseded through their signed approval in documents.py.)"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from medservice.core.workflow import Transition
from medservice.training.choices import ArticleStatus

PUBLISH_PERMISSION = "training.publish_knowledgearticle"

ARTICLE_TRANSITIONS: dict[str, Transition] = {
    "publish": Transition(
        sources=frozenset({ArticleStatus.DRAFT, ArticleStatus.PUBLISHED, ArticleStatus.WITHDRAWN}),
        target=ArticleStatus.PUBLISHED,
        permission=PUBLISH_PERMISSION,
        label=gettext_lazy("Publish"),
        style="primary",
    ),
    "withdraw": Transition(
        sources=frozenset({ArticleStatus.PUBLISHED}),
        target=ArticleStatus.WITHDRAWN,
        permission=PUBLISH_PERMISSION,
        label=gettext_lazy("Withdraw"),
        style="outline-danger",
        confirm=True,
    ),
}
