from django.urls import include, path

from medservice.core.views import resource_urlpatterns
from medservice.tickets import register_views, registers, views
from medservice.tickets.resources import tickets

app_name = "tickets"
urlpatterns = [
    *resource_urlpatterns(tickets),
    path("tickets/<int:pk>/action/<str:name>/", views.ticket_action, name="ticket-action"),
    path("tickets/<int:pk>/comment/", views.ticket_comment_view, name="ticket-comment"),
    path(
        "tickets/<int:pk>/files/<int:entry_id>/",
        views.ticket_attachment,
        name="ticket-attachment",
    ),
    path("tickets/<int:pk>/unmask/", views.ticket_unmask_view, name="ticket-unmask"),
    # The register-a-call desk (intake by agents), and the registers (complaint register,
    # contact log): each module owns its pages.
    path("", include(register_views.urlpatterns)),
    path("", include(registers.urlpatterns)),
    path("", include("medservice.tickets.policies")),  # SLA policies (configuration)
]
