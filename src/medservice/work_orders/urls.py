from medservice.core.views import resource_urlpatterns
from medservice.work_orders import views, views_dispatch, views_onsite, views_reports
from medservice.work_orders.resources import work_orders

app_name = "work_orders"
urlpatterns = [
    *resource_urlpatterns(work_orders),
    *views.urlpatterns,
    *views_dispatch.urlpatterns,
    *views_onsite.urlpatterns,
    *views_reports.urlpatterns,
]
