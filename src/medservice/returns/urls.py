from medservice.core.views import resource_urlpatterns
from medservice.returns import views
from medservice.returns.resources import return_rules, returns

app_name = "returns"
# The app's own pages come first: "returns/new/" is the request form, not a record.
urlpatterns = [
    *views.urlpatterns,
    *resource_urlpatterns(returns),
    *resource_urlpatterns(return_rules),
]
