from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.work_orders.api import dispatch
    from medservice.work_orders.api.viewsets import viewset_for
    from medservice.work_orders.resources import work_orders

    router.register("work-orders", viewset_for(work_orders), basename="work-order")
    if hasattr(dispatch, "register"):
        dispatch.register(router)
