from django.apps import AppConfig
from django.db.models.signals import post_migrate
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
        NavItem(_("Follow-ups"), "feedback:follow-ups-list",
                permission="feedback.record_followup", order=80),
        NavItem(_("Customer visits"), "feedback:customer-visits-list",
                permission="feedback.add_customervisit", order=81),
        NavItem(_("Surveys"), "feedback:surveys-list", permission="feedback.send_survey",
                order=82),
        NavItem(_("Low survey scores"), "feedback:survey-escalations-list",
                permission="feedback.answer_surveyescalation", order=83),
        NavItem(_("Survey results"), "feedback:survey-results",
                permission="feedback.view_survey_results", order=84),
        NavItem(_("Survey questions"), "feedback:survey-questions-list",
                permission="feedback.change_surveyquestion", order=85),
        # --- stores, shortages, correspondence ---
        NavItem(
            _("Opinion book"),
            "feedback:opinion-entries-list",
            permission="feedback.view_opinionentry",
            order=86,
        ),
        NavItem(
            _("Opinion-book reviews"),
            "feedback:opinion-reviews-list",
            permission="feedback.view_opinionbookreview",
            order=87,
        ),
        NavItem(
            _("Out-of-stock register"),
            "feedback:shortage-entries-list",
            permission="feedback.view_shortageentry",
            order=88,
        ),
        NavItem(
            _("Store notices"),
            "feedback:store-profiles-list",
            permission="feedback.view_storeprofile",
            order=89,
        ),
        NavItem(
            _("Correspondence"),
            "feedback:correspondence-list",
            permission="feedback.view_letter",
            order=90,
        ),
        NavItem(
            _("File an e-mail"),
            "feedback:correspondence-from-email",
            permission="feedback.add_letter",
            order=91,
        ),
    )  # fmt: skip

    def ready(self) -> None:
        # --- follow-ups and surveys ---
        from medservice.feedback.survey_defaults import standard_questions_ensure

        post_migrate.connect(
            standard_questions_ensure, sender=self, dispatch_uid="feedback-survey-questions"
        )
        # --- stores, shortages, correspondence ---
        from medservice.feedback import (  # noqa: F401  (registration)  # noqa: F401  (registration)
            demo_followups,
            demo_stores,
            receivers_followups,
            receivers_stores,
            resources_followups,
            resources_stores,
            tasks_followups,
            tasks_stores,
            views_stores,
        )
