from django.contrib import admin

from medservice.integrations.models import WebhookDelivery, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    # The secret is kept out of the Django admin: the webhook pages reveal it, audited.
    list_display = ["name", "organization", "target_url", "is_active", "consecutive_failures"]
    list_filter = ["is_active"]
    exclude = ["secret"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason"]

    def has_add_permission(self, request: object) -> bool:
        return False  # created on the webhook pages, which check the URL and set the secret


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "subscription", "event_type", "state", "attempts"]
    list_filter = ["state", "event_type"]

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
