from django.urls import path

from medservice.integrations import views

app_name = "integrations"
urlpatterns = [
    path("webhooks/", views.subscription_list, name="webhooks-list"),
    path("webhooks/new/", views.subscription_create_view, name="webhooks-create"),
    path("webhooks/deliveries/", views.delivery_list, name="deliveries-list"),
    path("webhooks/deliveries/<int:pk>/", views.delivery_detail, name="deliveries-detail"),
    path(
        "webhooks/deliveries/<int:pk>/redeliver/",
        views.delivery_redeliver_view,
        name="deliveries-redeliver",
    ),
    path("webhooks/<int:pk>/", views.subscription_detail, name="webhooks-detail"),
    path("webhooks/<int:pk>/edit/", views.subscription_edit_view, name="webhooks-edit"),
    path("webhooks/<int:pk>/disable/", views.subscription_disable_view, name="webhooks-disable"),
    path("webhooks/<int:pk>/enable/", views.subscription_enable_view, name="webhooks-enable"),
    path("webhooks/<int:pk>/test/", views.subscription_test_view, name="webhooks-test"),
]
