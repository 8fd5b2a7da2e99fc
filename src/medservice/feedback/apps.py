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
    )  # fmt: skip

    def ready(self) -> None:
        # --- follow-ups and surveys ---
        from medservice.feedback import (  # noqa: F401  (registration)
            demo_followups,
            receivers_followups,
            resources_followups,
            tasks_followups,
        )

        # --- stores, shortages, correspondence ---
