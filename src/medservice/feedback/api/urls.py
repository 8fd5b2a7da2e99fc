from django.urls import path
from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    # --- follow-ups and surveys ---
    from medservice.core.api.viewsets import resource_viewset
    from medservice.feedback.api.followups import (
        customer_visit_viewset,
        follow_up_viewset,
        visit_opinion_viewset,
    )
    from medservice.feedback.api.surveys import survey_escalation_viewset, survey_viewset
    from medservice.feedback.resources_followups import (
        customer_visits,
        follow_ups,
        survey_escalations,
        survey_questions,
        surveys,
        visit_opinions,
    )

    router.register("follow-ups", follow_up_viewset(follow_ups), basename="follow-up")
    router.register(
        "customer-visits", customer_visit_viewset(customer_visits), basename="customer-visit"
    )
    router.register(
        "visit-opinions", visit_opinion_viewset(visit_opinions), basename="visit-opinion"
    )
    router.register("surveys", survey_viewset(surveys), basename="survey")
    router.register(
        "survey-questions", resource_viewset(survey_questions), basename="survey-question"
    )
    router.register(
        "survey-escalations", survey_escalation_viewset(survey_escalations),
        basename="survey-escalation",
    )  # fmt: skip
    # --- stores, shortages, correspondence ---
    from medservice.feedback.api.correspondence import letter_viewset
    from medservice.feedback.api.stores import (
        opinion_entry_viewset,
        shortage_entry_viewset,
        store_profile_viewset,
    )
    from medservice.feedback.resources_stores import (
        correspondence,
        missed_reviews,
        opinion_entries,
        opinion_reviews,
        shortage_entries,
        store_profiles,
    )

    router.register(
        "store-profiles", store_profile_viewset(store_profiles), basename="store-profile"
    )
    router.register(
        "opinion-entries", opinion_entry_viewset(opinion_entries), basename="opinion-entry"
    )
    router.register("opinion-reviews", resource_viewset(opinion_reviews), basename="opinion-review")
    router.register("missed-reviews", resource_viewset(missed_reviews), basename="missed-review")
    router.register(
        "shortage-entries", shortage_entry_viewset(shortage_entries), basename="shortage-entry"
    )
    router.register("correspondence", letter_viewset(correspondence), basename="correspondence")


def extra_urlpatterns() -> list:
    """Endpoints that are not viewsets (config/api_urls.py includes them)."""
    from medservice.feedback.api.surveys import PublicSurveyAnswerView, SurveyResultsView

    return [
        # --- follow-ups and surveys ---
        path("survey-answers/", PublicSurveyAnswerView.as_view(), name="survey-answers"),
        path("survey-results/", SurveyResultsView.as_view(), name="survey-results"),
        # --- stores, shortages, correspondence ---
    ]
