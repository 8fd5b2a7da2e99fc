from django.contrib import admin

# --- follow-ups and surveys ---
from medservice.feedback.models import SurveyQuestion


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(admin.ModelAdmin):
    list_display = ["order", "code", "kind", "text_zh", "text_en", "active"]
    list_filter = ["kind", "active"]


# --- stores, shortages, correspondence ---
