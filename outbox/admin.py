from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from outbox.models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "recipients", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["subject", "key", "to"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [field.name for field in OutboundEmail._meta.fields]

    @admin.display(description="To")
    def recipients(self, mail: OutboundEmail) -> str:
        return ", ".join(mail.to)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(description="Send the selected failed mails again", permissions=["resend"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboundEmail]) -> None:
        count = queryset.filter(status=OutboundEmail.Status.FAILED).update(
            status=OutboundEmail.Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
        )
        self.message_user(
            request, f"{count} mail(s) will be sent at the next sweep.", messages.INFO
        )
