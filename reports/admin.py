"""Standings and warnings, read only: the register writes them (reports/standings.py)."""

from django.contrib import admin

from reports.models import AttendanceWarning, Standing


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Standing)
class StandingAdmin(ReadOnlyAdmin):
    list_display = ["student", "course", "rate", "below", "held", "absent", "crossings"]
    list_filter = ["below", "course"]
    list_select_related = ["student", "course"]
    search_fields = ["student__student_number", "student__last_name", "course__code"]
    raw_id_fields = ["student", "course"]


@admin.register(AttendanceWarning)
class AttendanceWarningAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "student", "course", "crossing", "rate"]
    list_filter = ["course"]
    list_select_related = ["student", "course"]
    search_fields = ["student__student_number", "student__last_name", "course__code"]
    raw_id_fields = ["student", "course"]
    date_hierarchy = "created_at"
