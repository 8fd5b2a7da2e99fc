from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.core.api.viewsets import resource_viewset
    from medservice.maintenance.api import viewsets
    from medservice.maintenance.resources import (
        acceptances,
        installations,
        operator_trainings,
        pm_plans,
        pm_visits,
        retraining_suggestions,
        training_attendees,
    )

    router.register("pm-plans", viewsets.pm_plan_viewset(pm_plans), basename="pm-plan")
    router.register("pm-visits", resource_viewset(pm_visits), basename="pm-visit")
    router.register("installations", resource_viewset(installations), basename="installation")
    router.register("acceptances", viewsets.acceptance_viewset(acceptances), basename="acceptance")
    router.register(
        "operator-trainings",
        viewsets.operator_training_viewset(operator_trainings),
        basename="operator-training",
    )
    router.register(
        "training-attendees", resource_viewset(training_attendees), basename="training-attendee"
    )
    router.register(
        "retraining-suggestions",
        viewsets.suggestion_viewset(retraining_suggestions),
        basename="retraining-suggestion",
    )
