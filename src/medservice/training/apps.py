from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class TrainingConfig(AppConfig):
    name = "medservice.training"
    label = "training"
    verbose_name = _("Training and knowledge")
    navigation = (
        NavItem(
            _("Knowledge base"),
            "training:knowledge-articles-list",
            permission="training.view_knowledgearticle",
            order=60,
        ),
        NavItem(
            _("Training"),
            "training:staff-trainings-list",
            permission="training.view_trainingsession",
            order=61,
        ),
        NavItem(
            _("Certifications"),
            "training:certifications-list",
            permission="training.view_certification",
            order=62,
        ),
        NavItem(
            _("Documents"),
            "training:documents-list",
            permission="training.view_controlleddocument",
            order=63,
        ),
    )

    def ready(self) -> None:
        from medservice.training import (  # noqa: F401  (registration)
            demo,
            tasks,
            views_documents,
            views_knowledge,
            views_people,
            views_sessions,
        )
