from medservice.core.views import resource_urlpatterns
from medservice.customers.resources import organizations

app_name = "customers"
urlpatterns = [*resource_urlpatterns(organizations)]
