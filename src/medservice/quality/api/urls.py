from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.quality.api import accidents, adverse_events, capa, decisions, recalls
    from medservice.quality.api.viewsets import viewset_for
    from medservice.quality.resources import cases

    router.register("quality-cases", viewset_for(cases), basename="quality-case")
    decisions.register(router)
    adverse_events.register(router)
    recalls.register(router)
    capa.register(router)
    accidents.register(router)
