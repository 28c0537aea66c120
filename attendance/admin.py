"""Django admin for the school roster, sessions, devices and registers.

State changes go through the service modules (end_session, register_device,
revoke_device, mark_attendance, create_api_token), as everywhere else; the
admin only lists, filters and calls them.
"""

import logging

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from attendance import devices, registers, sessions, tokens
from attendance.models import (
    ApiToken,
    AttendanceChange,
    AttendanceRecord,
    ConnectedDevice,
    Course,
    Device,
    Enrollment,
    NetworkSession,
    Student,
)

logger = logging.getLogger("rollcall.admin")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable only: history and presence are written by the services, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CreatedByServiceAdmin(admin.ModelAdmin):
    """Adding calls a service that makes the object and its secret; the secret is shown once.

    Subclasses implement create(request, cleaned_data) -> (obj, message). Later
    changes save only the fields the change form leaves editable.
    """

    editable_after_create = ["name"]

    def create(self, request: HttpRequest, cleaned_data: dict) -> tuple[object, str]:
        raise NotImplementedError

    def save_form(self, request, form, change):
        if change:
            return super().save_form(request, form, change)
        obj, secret_message = self.create(request, form.cleaned_data)
        messages.warning(
            request,
            f"{secret_message} Copy it now: it is shown only once and only its hash is kept.",
        )
        return obj

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=self.editable_after_create)

    def save_related(self, request, form, formsets, change):
        # On add, the service saved the object; the form never did.
        if change:
            super().save_related(request, form, formsets, change)


class DeleteRefused(Exception):
    """The database refused a delete the admin's own check had let through."""


class LockedDeleteAdmin(admin.ModelAdmin):
    """Deletes with the rows locked; a delete refused meanwhile is a message, not a 500.

    Admin checks what protects an object (a course's sessions, a student's
    records) without a lock, when it shows the confirmation. A session started
    or a register written between that check and the delete made the delete
    fail: ProtectedError, or a foreign-key error when the transaction commits.
    The rows are locked FOR UPDATE before the delete looks again (a register
    being written holds its students FOR KEY SHARE until it commits, and one
    that starts later waits for the lock and leaves them out), the foreign keys
    are checked before the delete's savepoint ends, and a refusal is said on
    the page with nothing deleted and nothing logged.
    """

    def log_deletions(self, request, queryset):
        # Logged by _delete, in the savepoint of the delete itself.
        return []

    def delete_model(self, request, obj) -> None:
        self._delete(request, [obj])

    def delete_queryset(self, request, queryset) -> None:
        self._delete(request, list(queryset))

    def _delete(self, request: HttpRequest, objs: list) -> None:
        manager = self.model._default_manager
        try:
            with transaction.atomic():
                locked = list(
                    manager.select_for_update().filter(pk__in=[o.pk for o in objs]).order_by("pk")
                )
                super().log_deletions(request, locked)
                manager.filter(pk__in=[o.pk for o in locked]).delete()
                if connection.vendor == "postgresql":
                    # Django's foreign keys are checked at commit; check them here,
                    # where a violation can still be answered.
                    connection.check_constraints()
        except IntegrityError as exc:  # ProtectedError and RestrictedError among them
            self.message_user(request, self._refusal(objs, exc), messages.ERROR)
            raise DeleteRefused from exc

    def _refusal(self, objs: list, exc: IntegrityError) -> str:
        opts = self.model._meta
        if len(objs) == 1:
            what, them = f"The {opts.verbose_name} “{objs[0]}” was", "it"
        else:
            what, them = f"The {len(objs)} {opts.verbose_name_plural} were", "them"
        referring = getattr(exc, "protected_objects", None) or getattr(
            exc, "restricted_objects", ()
        )
        kinds = sorted({str(type(o)._meta.verbose_name_plural) for o in referring})
        return (
            f"{what} not deleted: {' and '.join(kinds) or 'other rows'} now refer to {them} "
            "(written after the deletion was confirmed). Nothing was deleted."
        )

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DeleteRefused:
            # The confirmation page again, which now lists what protects the object.
            return HttpResponseRedirect(request.get_full_path())

    def response_action(self, request, queryset):
        try:
            return super().response_action(request, queryset)
        except DeleteRefused:
            return HttpResponseRedirect(request.get_full_path())


class ConflictRefusedAdmin(admin.ModelAdmin):
    """A save the database refuses because of a row written meanwhile is a message, not a 500.

    The forms check what must be unique (Django validates the model's
    constraints, EnrollmentFormSet the inline rows) against what is committed:
    two admins enrolling the same pair, or adding the same student number, at
    the same moment both pass, and the database refuses the second. Its whole
    save is rolled back (the change view's transaction), and the page says so.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError:
            logger.warning(
                "An admin save of a %s was refused by the database",
                self.model._meta.label,
                exc_info=True,
            )
            self.message_user(
                request,
                "Nothing was saved: a change saved by someone else at the same moment "
                "conflicts with this one (the same enrollment or number, say). "
                "Check the page as it is now and save again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())


class EnrollmentFormSet(forms.BaseInlineFormSet):
    """One course's or one student's enrollments: a new row for a pair already enrolled
    (entered in another tab, or a hand-edited management form counting no rows as
    existing) is an error on its row, not the database's refusal (a 500)."""

    def clean(self) -> None:
        super().clean()
        other = "student" if self.fk.name == "course" else "course"
        wanted = {
            form.cleaned_data[other].pk: form
            for form in self.forms
            if form.instance.pk is None
            and form.has_changed()
            and form.cleaned_data.get(other) is not None
            and not form.cleaned_data.get("DELETE")
        }
        if not wanted or self.instance.pk is None:
            return
        taken = Enrollment.objects.filter(
            **{self.fk.name: self.instance, f"{other}__in": list(wanted)}
        ).values_list(f"{other}_id", flat=True)
        for pk in taken:
            wanted[pk].add_error(other, "Already enrolled: this pair is on the list.")


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    formset = EnrollmentFormSet
    extra = 0
    autocomplete_fields = ["student"]
    readonly_fields = ["enrolled_at"]


@admin.register(Course)
class CourseAdmin(ConflictRefusedAdmin, LockedDeleteAdmin):
    list_display = ["code", "title", "lecturer_names"]
    search_fields = ["code", "title"]
    list_filter = ["lecturers"]
    filter_horizontal = ["lecturers"]
    inlines = [EnrollmentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lecturers")

    @admin.display(description="Lecturers")
    def lecturer_names(self, course: Course) -> str:
        return ", ".join(user.get_username() for user in course.lecturers.all())


class StudentEnrollmentInline(admin.TabularInline):
    model = Enrollment
    formset = EnrollmentFormSet
    extra = 0
    autocomplete_fields = ["course"]
    readonly_fields = ["enrolled_at"]


class StudentDeviceInline(admin.TabularInline):
    """The student's devices at a glance; they are added and revoked from the Device admin."""

    model = Device
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["name", "is_active", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Student)
class StudentAdmin(ConflictRefusedAdmin, LockedDeleteAdmin):
    list_display = ["student_number", "last_name", "first_name", "email", "is_active", "user"]
    list_display_links = ["student_number", "last_name"]
    search_fields = ["student_number", "first_name", "last_name", "email"]
    list_filter = ["is_active", "courses"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    inlines = [StudentEnrollmentInline, StudentDeviceInline]


@admin.register(Enrollment)
class EnrollmentAdmin(ConflictRefusedAdmin):
    list_display = ["student", "course", "enrolled_at"]
    list_filter = ["course"]
    search_fields = ["student__student_number", "student__last_name", "course__code"]
    list_select_related = ["student", "course"]
    autocomplete_fields = ["student", "course"]


# --- devices ------------------------------------------------------------------------


class DeviceAddForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = ["student", "name"]

    def clean(self):
        cleaned = super().clean()
        student = cleaned.get("student")
        limit = settings.ATTENDANCE_MAX_DEVICES_PER_STUDENT
        if student and student.devices.filter(is_active=True).count() >= limit:
            raise forms.ValidationError(
                f"{student.full_name} already has {limit} active devices; revoke one first."
            )
        return cleaned


@admin.register(Device)
class DeviceAdmin(CreatedByServiceAdmin):
    list_display = ["name", "student", "is_active", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "student__student_number", "student__last_name", "public_id"]
    list_select_related = ["student"]
    autocomplete_fields = ["student"]
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = DeviceAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["student", "name"]
        return [
            "student",
            "name",
            "public_id",
            "is_active",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Revoking goes through the action, which frees the device's slot.
        return ["student", "public_id", "is_active", "created_at", "last_used_at", "revoked_at"]

    def create(self, request, cleaned_data):
        device, token = devices.register_device(
            student=cleaned_data["student"], name=cleaned_data["name"]
        )
        return device, f"Device token for {device.name}: {token} (device id {device.public_id})."

    def revoke(self, request: HttpRequest, device: Device) -> bool:
        """One device's revoke; portal's admin (registered in this one's place) adds its
        audit row."""
        return devices.revoke_device(device=device)

    @admin.action(description="Revoke selected devices", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        revoked = sum(self.revoke(request, device) for device in queryset)
        skipped = queryset.count() - revoked
        self.message_user(
            request,
            f"Revoked {revoked} device(s)" + (f"; {skipped} already revoked." if skipped else "."),
            messages.SUCCESS,
        )


# --- sessions and presence ---------------------------------------------------------------


@admin.register(NetworkSession)
class NetworkSessionAdmin(admin.ModelAdmin):
    list_display = [
        "course",
        "date",
        "started_at",
        "ended_at",
        "is_active",
        "end_reason",
        "started_by",
        "register",
    ]
    list_filter = ["is_active", "end_reason", "date", "course"]
    search_fields = ["course__code", "course__title"]
    date_hierarchy = "date"
    list_select_related = ["course", "started_by"]
    actions = ["end_selected"]

    def has_add_permission(self, request):
        # A session is started from the dashboard or the API, through start_session.
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.display(description="Register")
    def register(self, session: NetworkSession) -> str:
        url = reverse("admin:attendance_attendancerecord_changelist")
        return format_html('<a href="{}?session__id__exact={}">records</a>', url, session.pk)

    @admin.action(description="End selected sessions", permissions=["change"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[NetworkSession]) -> None:
        active = list(queryset.filter(is_active=True))
        results = [sessions.end_session(session=s, by=request.user) for s in active]
        already = queryset.count() - len(active)
        records = sum(r.records for r in results)
        self.message_user(
            request,
            f"Ended {len(results)} session(s), wrote {records} attendance record(s)"
            + (f"; {already} were already ended." if already else "."),
            messages.SUCCESS,
        )


@admin.register(ConnectedDevice)
class ConnectedDeviceAdmin(ReadOnlyAdmin):
    list_display = [
        "device",
        "session",
        "is_connected",
        "connected_at",
        "last_seen_at",
        "disconnected_at",
        "ip_address",
    ]
    list_filter = ["is_connected", "session__course"]
    search_fields = ["device__student__student_number", "device__name", "session__course__code"]
    list_select_related = ["device__student", "session__course"]


# --- registers -------------------------------------------------------------------------------


class AttendanceChangeInline(admin.TabularInline):
    model = AttendanceChange
    extra = 0
    can_delete = False
    fields = ["changed_at", "changed_by", "from_status", "to_status", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttendanceRecordForm(forms.ModelForm):
    reason = forms.CharField(
        max_length=500, help_text="Why the status changes; kept in the audit trail."
    )

    class Meta:
        model = AttendanceRecord
        fields = ["status"]


@admin.register(AttendanceRecord)
class AttendanceRecordAdmin(admin.ModelAdmin):
    form = AttendanceRecordForm
    list_display = ["student", "session", "status", "source", "first_seen", "last_seen"]
    list_filter = ["status", "source", "session__course"]
    search_fields = ["student__student_number", "student__last_name", "session__course__code"]
    list_select_related = ["student", "session__course"]
    readonly_fields = ["session", "student", "source", "first_seen", "last_seen", "updated_at"]
    fields = ["session", "student", "status", "reason", "source", "first_seen", "last_seen"]
    inlines = [AttendanceChangeInline]

    def has_add_permission(self, request):
        # Records are written by end_session; a register is corrected, not invented.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        registers.mark_attendance(
            record=obj,
            status=form.cleaned_data["status"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )


@admin.register(AttendanceChange)
class AttendanceChangeAdmin(ReadOnlyAdmin):
    list_display = ["record", "from_status", "to_status", "changed_by", "changed_at", "reason"]
    list_filter = ["to_status", "record__session__course"]
    search_fields = ["record__student__student_number", "reason"]
    list_select_related = ["record__student", "record__session__course", "changed_by"]


# --- API tokens --------------------------------------------------------------------------------


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(CreatedByServiceAdmin):
    list_display = ["name", "user", "prefix", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "prefix", "is_active", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "prefix", "is_active", "created_at", "last_used_at", "revoked_at"]

    def create(self, request, cleaned_data):
        token, key = tokens.create_api_token(user=cleaned_data["user"], name=cleaned_data["name"])
        return token, f"API key for {token.name}: {key}"

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        active = list(queryset.filter(is_active=True))
        for token in active:
            tokens.revoke_api_token(token=token)
        self.message_user(request, f"Revoked {len(active)} token(s).", messages.SUCCESS)
