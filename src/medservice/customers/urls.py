from django.urls import path

from medservice.core.views import resource_urlpatterns
from medservice.customers import views
from medservice.customers.resources import contacts, departments, organizations

app_name = "customers"
urlpatterns = [
    path("organizations/options/", views.organization_options, name="organization-options"),
    path("departments/options/", views.department_options, name="department-options"),
    *resource_urlpatterns(organizations),
    *resource_urlpatterns(departments),
    *resource_urlpatterns(contacts),
    path("contacts/<int:pk>/invite/", views.contact_invite_view, name="contact-invite"),
    path(
        "contacts/<int:pk>/unmask/<str:field>/",
        views.contact_unmask_view,
        name="contact-unmask",
    ),
]
