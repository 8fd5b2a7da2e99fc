from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class FeedbackConfig(AppConfig):
    name = "medservice.feedback"
    label = "feedback"
    verbose_name = _("Feedback")
    # Areas: follow-ups and surveys (FOLLOW-UPS/SURVEYS sections), stores, shortages and
    # correspondence (STORES sections). Each area adds its own items below its marker.
    navigation = (
        # --- follow-ups and surveys ---
        # --- stores, shortages, correspondence ---
        NavItem(
            _("Opinion book"),
            "feedback:opinion-entries-list",
            permission="feedback.view_opinionentry",
            order=80,
        ),
        NavItem(
            _("Opinion-book reviews"),
            "feedback:opinion-reviews-list",
            permission="feedback.view_opinionbookreview",
            order=81,
        ),
        NavItem(
            _("Out-of-stock register"),
            "feedback:shortage-entries-list",
            permission="feedback.view_shortageentry",
            order=82,
        ),
        NavItem(
            _("Store notices"),
            "feedback:store-profiles-list",
            permission="feedback.view_storeprofile",
            order=83,
        ),
        NavItem(
            _("Correspondence"),
            "feedback:correspondence-list",
            permission="feedback.view_letter",
            order=84,
        ),
        NavItem(
            _("File an e-mail"),
            "feedback:correspondence-from-email",
            permission="feedback.add_letter",
            order=85,
        ),
    )

    def ready(self) -> None:
        # --- follow-ups and surveys ---
        # --- stores, shortages, correspondence ---
        from medservice.feedback import (  # noqa: F401  (registration)
            demo_stores,
            receivers_stores,
            resources_stores,
            tasks_stores,
            views_stores,
        )
