from medservice.core.views import resource_urlpatterns  # noqa: F401  (used as resources land)

app_name = "installed_base"
urlpatterns: list = []
