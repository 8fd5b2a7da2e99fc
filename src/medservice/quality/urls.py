from medservice.core.views import resource_urlpatterns
from medservice.quality import resources
from medservice.quality.resources import cases

app_name = "quality"
urlpatterns = [
    *resource_urlpatterns(cases),
    *resources.urlpatterns,
]
