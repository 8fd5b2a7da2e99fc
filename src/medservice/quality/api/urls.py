from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.quality.api.viewsets import viewset_for
    from medservice.quality.resources import cases

    router.register("quality-cases", viewset_for(cases), basename="quality-case")
