from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "medservice.feedback"
    label = "feedback"
    verbose_name = _("Feedback")
    # Areas: follow-ups and surveys (FOLLOW-UPS/SURVEYS sections), stores, shortages and
    # correspondence (STORES sections). Each area adds its own items below its marker.
    navigation = (
        # --- follow-ups and surveys ---
        # --- stores, shortages, correspondence ---
    )

    def ready(self) -> None:
        # --- follow-ups and surveys ---
        # --- stores, shortages, correspondence ---
        pass
