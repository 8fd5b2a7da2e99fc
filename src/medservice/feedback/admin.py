"""Read-only admin views of the feedback records (the pages and the API are where work is
done: services keep the rules, the numbering and the audit)."""

from django.contrib import admin

from medservice.feedback.models import (
    Letter,
    MissedReview,
    OpinionBookReview,
    OpinionEntry,
    ShortageEntry,
    StoreProfile,
    SurveyQuestion,
)


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(StoreProfile)
class StoreProfileAdmin(_ReadOnlyAdmin):
    list_display = ["store", "supervision_phone", "store_complaint_phone", "keeps_opinion_book"]


@admin.register(OpinionEntry)
class OpinionEntryAdmin(_ReadOnlyAdmin):
    list_display = ["number", "entry_date", "store", "category", "quality_case"]
    list_filter = ["category"]
    search_fields = ["number"]
    exclude = ["customer_name", "customer_phone"]


@admin.register(OpinionBookReview)
class OpinionBookReviewAdmin(_ReadOnlyAdmin):
    list_display = ["day", "store", "reviewed_by", "quality_safety_found"]


@admin.register(MissedReview)
class MissedReviewAdmin(_ReadOnlyAdmin):
    list_display = ["day", "store", "recorded_at"]


@admin.register(ShortageEntry)
class ShortageEntryAdmin(_ReadOnlyAdmin):
    list_display = ["number", "requested_on", "store", "status", "notified_at"]
    list_filter = ["status"]
    exclude = ["customer_name", "customer_phone", "customer_email"]


@admin.register(Letter)
class LetterAdmin(_ReadOnlyAdmin):
    list_display = ["number", "letter_date", "kind", "direction", "subject", "organization"]
    list_filter = ["kind", "direction"]
    search_fields = ["number", "subject"]


# Survey questions are configuration: the service manager edits them here or on their page.
@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(admin.ModelAdmin):
    list_display = ["order", "code", "kind", "text_zh", "text_en", "active"]
    list_filter = ["kind", "active"]
