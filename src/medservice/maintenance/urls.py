from django.urls import path

from medservice.core.views import resource_urlpatterns
from medservice.maintenance import views
from medservice.maintenance.resources import (
    acceptances,
    installations,
    operator_trainings,
    pm_plans,
    pm_visits,
    retraining_suggestions,
    training_attendees,
)

app_name = "maintenance"
# The app's own pages come first: "pm-plans/overdue/" is a list, not a record.
urlpatterns = [
    path("pm-plans/overdue/", views.pm_overdue, name="pm-overdue"),
    path("pm-plans/completion-rate/", views.pm_completion, name="pm-completion"),
    path("acceptances/<int:pk>/sign/", views.acceptance_sign_view, name="acceptance-sign"),
    path("acceptances/<int:pk>/attach/", views.acceptance_attach_view, name="acceptance-attach"),
    path("acceptances/<int:pk>/files/<int:file_id>/", views.acceptance_file,
         name="acceptance-file"),
    path("installations/from-delivery/", views.installations_from_delivery,
         name="installations-from-delivery"),
    path("operator-trainings/<int:pk>/sign-in-sheet.pdf", views.training_sign_in_sheet,
         name="training-sign-in-sheet"),
    path("operator-trainings/<int:pk>/attendees/add/", views.training_attendee_add,
         name="training-attendee-add"),
    path("operator-trainings/<int:pk>/attach/", views.training_attach, name="training-attach"),
    path("operator-trainings/<int:pk>/files/<int:file_id>/", views.training_file,
         name="training-file"),
    path("retraining-suggestions/<int:pk>/dismiss/", views.suggestion_dismiss_view,
         name="suggestion-dismiss"),
    path("retraining-suggestions/<int:pk>/schedule/", views.suggestion_schedule_view,
         name="suggestion-schedule"),
    *resource_urlpatterns(pm_plans),
    *resource_urlpatterns(pm_visits),
    *resource_urlpatterns(installations),
    *resource_urlpatterns(acceptances),
    *resource_urlpatterns(operator_trainings),
    *resource_urlpatterns(training_attendees),
    *resource_urlpatterns(retraining_suggestions),
]  # fmt: skip
