from medservice.core.views import resource_urlpatterns
from medservice.quality import (
    resources,
    views_accidents,
    views_adverse_events,
    views_capa,
    views_decisions,
    views_recalls,
)
from medservice.quality.resources import cases

app_name = "quality"
urlpatterns = [
    *resource_urlpatterns(cases),
    *resources.urlpatterns,
    *views_decisions.urlpatterns,
    *views_adverse_events.urlpatterns,
    *views_recalls.urlpatterns,
    *views_capa.urlpatterns,
    *views_accidents.urlpatterns,
]
