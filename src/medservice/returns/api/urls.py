from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.core.api.viewsets import resource_viewset
    from medservice.returns.api.viewsets import viewset_for
    from medservice.returns.resources import return_rules, returns

    router.register("returns", viewset_for(returns), basename="return")
    router.register("return-rules", resource_viewset(return_rules), basename="return-rule")
