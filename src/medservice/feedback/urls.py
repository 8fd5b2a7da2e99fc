from django.urls import path

from medservice.core.views import resource_urlpatterns

app_name = "feedback"
urlpatterns: list = []

# --- follow-ups and surveys ---
from medservice.feedback import views_followups, views_surveys  # noqa: E402
from medservice.feedback.resources_followups import (  # noqa: E402
    customer_visits,
    follow_ups,
    survey_escalations,
    survey_questions,
    surveys,
    visit_opinions,
)

urlpatterns += [
    *views_followups.urlpatterns,
    *views_surveys.urlpatterns,
    *resource_urlpatterns(follow_ups),
    *resource_urlpatterns(customer_visits),
    *resource_urlpatterns(visit_opinions),
    *resource_urlpatterns(surveys),
    *resource_urlpatterns(survey_questions),
    *resource_urlpatterns(survey_escalations),
]

# --- stores, shortages, correspondence ---
from medservice.feedback import views_correspondence, views_stores  # noqa: E402
from medservice.feedback.resources_stores import (  # noqa: E402
    correspondence,
    missed_reviews,
    opinion_entries,
    opinion_reviews,
    shortage_entries,
    store_profiles,
)

urlpatterns += [
    # Own pages first: "correspondence/from-email/" is a form, not a record.
    path(
        "correspondence/from-email/",
        views_correspondence.letter_from_email_view,
        name="correspondence-from-email",
    ),
    path("store-profiles/<int:pk>/notice/", views_stores.store_notice, name="store-notice"),
    path(
        "opinion-entries/<int:pk>/to-quality-case/",
        views_stores.opinion_entry_to_case,
        name="opinion-entry-to-case",
    ),
    path(
        "opinion-entries/<int:pk>/unmask/",
        views_stores.opinion_entry_unmask_view,
        name="opinion-entry-unmask",
    ),
    path(
        "shortage-entries/<int:pk>/close/", views_stores.shortage_close_view, name="shortage-close"
    ),
    path(
        "shortage-entries/<int:pk>/notify/",
        views_stores.shortage_notify_view,
        name="shortage-notify",
    ),
    path(
        "shortage-entries/<int:pk>/unmask/",
        views_stores.shortage_unmask_view,
        name="shortage-unmask",
    ),
    path(
        "correspondence/<int:pk>/files/<int:file_id>/",
        views_correspondence.letter_file,
        name="correspondence-file",
    ),
    path(
        "correspondence/<int:pk>/attach/",
        views_correspondence.letter_attach,
        name="correspondence-attach",
    ),
    *resource_urlpatterns(store_profiles),
    *resource_urlpatterns(opinion_entries),
    *resource_urlpatterns(opinion_reviews),
    *resource_urlpatterns(missed_reviews),
    *resource_urlpatterns(shortage_entries),
    *resource_urlpatterns(correspondence),
]
