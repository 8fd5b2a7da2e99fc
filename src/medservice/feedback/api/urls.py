from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    # --- follow-ups and surveys ---
    # --- stores, shortages, correspondence ---
    from medservice.core.api.viewsets import resource_viewset
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
