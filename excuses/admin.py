"""Excuse requests in Django admin: read-mostly. Requests are made and decided on
their pages (excuses/views.py) so the rules, the audit trail and the mail apply;
admin lists, filters and links to the decision page and the attachment."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from attendance.admin import ReadOnlyAdmin
from excuses.models import ExcuseRequest


@admin.register(ExcuseRequest)
class ExcuseRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "student",
        "course",
        "session_date",
        "from_status",
        "state",
        "submitted_at",
    )
    list_filter = ("state", "from_status", "course")
    search_fields = ("student__student_number", "student__last_name", "course__code")
    list_select_related = ("student", "course", "record__session")
    date_hierarchy = "submitted_at"
    ordering = ("-submitted_at",)
    # The file itself has no public URL: only the permission-checked view serves it.
    fields = (
        "student",
        "course",
        "record",
        "from_status",
        "reason",
        "attachment_link",
        "state",
        "submitted_at",
        "decided_at",
        "decided_by",
        "decision_comment",
        "decision_page",
    )
    readonly_fields = fields

    @admin.display(description="Session date", ordering="record__session__date")
    def session_date(self, obj: ExcuseRequest):
        return obj.record.session.date

    @admin.display(description="Attachment")
    def attachment_link(self, obj: ExcuseRequest) -> str:
        if not obj.attachment:
            return "–"
        return format_html(
            '<a href="{}">{}</a> ({}, {} bytes)',
            reverse("excuses:attachment", args=[obj.pk]),
            obj.attachment_name,
            obj.attachment_type,
            obj.attachment_size,
        )

    @admin.display(description="Decide")
    def decision_page(self, obj: ExcuseRequest) -> str:
        return format_html(
            '<a href="{}">Open the request\'s page</a>', reverse("excuses:detail", args=[obj.pk])
        )
