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
