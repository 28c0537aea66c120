"""Admin for sign-in: sessions, invitations, one-time codes, lockouts, roles and imports.

The roster's admin (attendance/admin.py) is extended here rather than changed
there: the course's lecturer picker offers only the Lecturers group, and the
student and user lists gain the login actions. Every action calls a service.
"""

import hashlib

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts import codes, logins, roles, sessions
from accounts.imports.run import FORMATS, KINDS, ImportConflict, export_school, import_school
from accounts.invitations import invite_users
from accounts.models import ImportRun, Invitation, SignInCode, UserSession
from accounts.roles import LECTURERS_GROUP
from attendance import admin as roster_admin
from attendance.models import Course, Student
from reports.standings import rebuild_course
from timetable.admin import TimetableCourseAdmin

User = get_user_model()
PREVIEW_ROWS = 100


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def code_sheet(request: HttpRequest, printed: list[codes.PrintedCode]) -> HttpResponse:
    response = TemplateResponse(
        request, "accounts/code_sheet.html", {"printed": printed, "login_url": _base_url(request)}
    )
    # The codes are shown once; no cache may keep them.
    response["Cache-Control"] = "no-store"
    return response


# --- the roster, extended -------------------------------------------------------------

admin.site.unregister(Course)


@admin.register(Course)
class CourseAdmin(TimetableCourseAdmin):
    """The course as the roster and the timetable show it, with lecturers only to pick."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "lecturers":
            # Lecturers only; a course's current lecturers stay listed, so saving
            # the form never drops one silently.
            object_id = request.resolver_match.kwargs.get("object_id")
            current = Q(courses_taught__pk=object_id) if object_id else Q(pk__in=[])
            kwargs["queryset"] = (
                User.objects.filter(Q(is_active=True, groups__name=LECTURERS_GROUP) | current)
                .distinct()
                .order_by("last_name", "first_name", "username")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            # Each field carries, hidden, the value the page showed: what this admin
            # left alone is not written back over another admin's save meanwhile.
            for field in form.base_fields.values():
                field.show_hidden_initial = True
        return form

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The threshold stored now, read under the row's lock: another admin's
        # save may have committed since this form was read. Only the fields this
        # form changed are written; the standings follow whatever threshold the
        # row then holds (NO KEY: register writes still take the course's key
        # share for their foreign keys).
        stored = (
            Course.objects.select_for_update(no_key=True)
            .filter(pk=obj.pk)
            .values_list("warn_below_percent", "warn_after_sessions")
            .first()
        )
        concrete = {f.name for f in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in concrete]
        if changed:
            obj.save(update_fields=changed)
        obj.refresh_from_db(fields=[name for name in concrete - set(changed) if name != "id"])
        if (obj.warn_below_percent, obj.warn_after_sessions) != stored:
            # Who is at risk follows the new threshold at once; like a rebuild, the
            # change itself mails no one (a student's next fall below warns as usual).
            rebuild_course(course=obj)
            self.message_user(
                request, "The at-risk list now follows the new threshold.", messages.INFO
            )

    def save_related(self, request, form, formsets, change):
        if change:
            # A list of lecturers left as the page showed it is not saved over a change
            # another admin made meanwhile.
            for field in Course._meta.many_to_many:
                if field.name not in form.changed_data:
                    form.cleaned_data.pop(field.name, None)
        super().save_related(request, form, formsets, change)


admin.site.unregister(Student)


@admin.register(Student)
class StudentAdmin(roster_admin.StudentAdmin):
    actions = ["give_logins", "print_codes"]

    def has_give_logins_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("attendance.change_student") and request.user.has_perm(
            "auth.add_user"
        )

    def has_issue_codes_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("auth.change_user")

    @admin.action(
        description="Give logins (named by student number) and send invitations",
        permissions=["give_logins"],
    )
    def give_logins(self, request: HttpRequest, queryset: QuerySet[Student]) -> None:
        result = logins.give_students_logins(
            students=list(queryset), by=request.user, base_url=_base_url(request)
        )
        self.message_user(
            request,
            f"Made {result.created} login(s), mailed {result.invited} invitation(s)."
            + (f" Skipped (name taken): {', '.join(result.skipped)}." if result.skipped else ""),
            messages.SUCCESS,
        )

    @admin.action(description="Print one-time sign-in codes", permissions=["issue_codes"])
    def print_codes(self, request: HttpRequest, queryset: QuerySet[Student]):
        users = [s.user for s in queryset.select_related("user") if s.user_id]
        if not users:
            self.message_user(request, "None of these students has a login yet.", messages.WARNING)
            return None
        users = _only_those_they_may_act_for(self, request, users)
        if not users:
            return None
        try:
            return code_sheet(request, codes.issue_sign_in_codes(users=users, by=request.user))
        except codes.CodeBusy as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None


SUPERUSERS_ONLY = "Skipped staff and superusers: only a superuser may do that for them."


def _only_those_they_may_act_for(
    modeladmin, request: HttpRequest, items: list, *, user_of=lambda item: item
) -> list:
    """The `items` (users, or rows `user_of` names the user of) the requester may act
    for; saying so when some are skipped."""
    allowed = [item for item in items if roles.may_act_for(request.user, user_of(item))]
    if len(allowed) < len(items):
        modeladmin.message_user(request, SUPERUSERS_ONLY, messages.WARNING)
    return allowed


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    actions = ["end_sessions", "unlock", "send_invitations", "print_codes"]

    # The rules of the actions below hold for the change form too: a staff or
    # superuser account (its password included) is changed or deleted by a
    # superuser only, and only a superuser makes staff or grants permissions.
    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not roles.may_grant_power(request.user):
            fields += [name for name in roles.POWER_FIELDS if name not in fields]
        return fields

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or roles.may_act_for(request.user, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or roles.may_act_for(request.user, obj)
        )

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # The save signed it out (accounts/sessions.py, ending_if_deactivated).
            self.message_user(
                request,
                f"{obj} is signed out everywhere: their pages and programs are disconnected.",
                messages.INFO,
            )

    @admin.action(
        description="Sign out everywhere (end all their sessions)", permissions=["change"]
    )
    def end_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = _only_those_they_may_act_for(self, request, list(queryset))
        ended = sum(sessions.end_all_sessions(user=user) for user in users)
        self.message_user(request, f"Ended {ended} session(s).", messages.SUCCESS)

    @admin.action(description="Unlock sign-in (clear failed attempts)", permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        cleared = sum(axes_reset(username=user.get_username()) for user in queryset)
        self.message_user(
            request, f"Unlocked; cleared {cleared} failed-attempt record(s).", messages.SUCCESS
        )

    @admin.action(description="Send an invitation to set a password", permissions=["change"])
    def send_invitations(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = _only_those_they_may_act_for(self, request, list(queryset))
        sent = invite_users(users=users, by=request.user, base_url=_base_url(request))
        skipped = len(users) - len(sent)
        self.message_user(
            request,
            f"Mailed {len(sent)} invitation(s)"
            + (f"; {skipped} have no email address (print codes instead)." if skipped else "."),
            messages.SUCCESS,
        )

    @admin.action(description="Print one-time sign-in codes", permissions=["change"])
    def print_codes(self, request: HttpRequest, queryset: QuerySet):
        users = _only_those_they_may_act_for(self, request, list(queryset))
        if not users:
            return None
        try:
            return code_sheet(request, codes.issue_sign_in_codes(users=users, by=request.user))
        except codes.CodeBusy as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None


# --- sign-in records -------------------------------------------------------------------


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """django-axes' own list, with its "Clean up expired attempts" action made to work.

    The action times the cool-off from the attempt time axes stamps on a sign-in
    request; an admin page is no sign-in, so the stamp is made here (now), as axes
    does for a sign-in, before the attempts older than the cool-off are deleted.
    """

    @admin.action(description="Clean up expired attempts")
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet) -> None:
        AxesProxyHandler.update_request(request)
        super().cleanup_expired_attempts(request, queryset)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UserSession)
class UserSessionAdmin(ReadOnly):
    list_display = ["user", "browser", "ip_address", "signed_in_at", "last_active_at", "remembered"]
    list_filter = ["remembered"]
    search_fields = ["user__username", "ip_address"]
    list_select_related = ["user"]
    exclude = ["session_key"]
    actions = ["end_selected"]

    def has_delete_permission(self, request, obj=None):
        return False  # ending goes through the action, which deletes the session itself

    @admin.display(description="Browser")
    def browser(self, row: UserSession) -> str:
        return sessions.describe_browser(row.user_agent)

    def has_end_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("auth.change_user")

    @admin.action(description="Sign out the selected sessions", permissions=["end"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[UserSession]) -> None:
        rows = _only_those_they_may_act_for(
            self, request, list(queryset.select_related("user")), user_of=lambda row: row.user
        )
        ended = sum(sessions.end_user_session(user=row.user, session_id=row.pk) for row in rows)
        self.message_user(request, f"Ended {ended} session(s).", messages.SUCCESS)


@admin.register(Invitation)
class InvitationAdmin(ReadOnly):
    list_display = ["user", "email", "created_at", "expires_at", "accepted_at", "revoked_at"]
    search_fields = ["user__username", "email"]
    list_select_related = ["user"]


@admin.register(SignInCode)
class SignInCodeAdmin(ReadOnly):
    list_display = ["user", "created_at", "expires_at", "used_at", "revoked_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]


# --- imports ------------------------------------------------------------------------------


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k.capitalize()) for k in KINDS])
    file = forms.FileField(help_text="CSV (UTF-8, or Excel's CSV) or XLSX, at most 10 MB.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            limit = settings.IMPORT_MAX_BYTES / (1024 * 1024)
            raise forms.ValidationError(f"The file is larger than {limit:.0f} MB.")
        return upload


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["kind", "filename", "created_by", "created_at", "applied_at"]
    list_filter = ["kind"]
    list_select_related = ["created_by"]
    change_list_template = "admin/accounts/importrun/change_list.html"

    def has_module_permission(self, request):
        return request.user.has_perm("accounts.import_school")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.import_school")

    def has_add_permission(self, request):
        return request.user.has_perm("accounts.import_school")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="accounts_importrun_upload"),
            path(
                "<int:run_id>/preview/", wrap(self.preview_view), name="accounts_importrun_preview"
            ),
            path("export/", wrap(self.export_view), name="accounts_importrun_export"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:accounts_importrun_upload")

    def _check(self, request: HttpRequest) -> None:
        if not request.user.has_perm("accounts.import_school"):
            raise PermissionDenied

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            content = upload.read()
            run = ImportRun.objects.create(
                kind=form.cleaned_data["kind"],
                filename=upload.name[:255],
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
                created_by=request.user,
                created_at=timezone.now(),
            )
            return redirect("admin:accounts_importrun_preview", run_id=run.pk)
        context = self._context(
            request, form=form, title="Import from a file", kinds=KINDS, formats=FORMATS
        )
        return TemplateResponse(request, "admin/accounts/importrun/upload.html", context)

    def preview_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        self._check(request)
        run = get_object_or_404(ImportRun, pk=run_id, created_by=request.user)
        if run.applied_at:
            messages.info(request, "This file was already imported.")
            return redirect("admin:accounts_importrun_changelist")
        confirm = request.method == "POST"
        try:
            result = import_school(
                kind=run.kind,
                data=bytes(run.content),
                filename=run.filename,
                dry_run=not confirm,
                by=request.user,
                base_url=_base_url(request),
            )
        except ImportConflict as exc:
            messages.error(request, str(exc))
            return redirect("admin:accounts_importrun_preview", run_id=run.pk)
        if result.applied:
            ImportRun.objects.filter(pk=run.pk).update(
                applied_at=timezone.now(), content=b"", summary=result.summary()
            )
            counts = result.counts
            messages.success(
                request,
                f"Imported {run.filename}: {counts['new']} new, {counts['changed']} changed, "
                f"{counts['unchanged']} unchanged.",
            )
            return redirect("admin:accounts_importrun_changelist")
        shown = {}
        for status in ("new", "changed", "unchanged"):
            rows = [o for o in result.outcomes if o.status == status]
            shown[status] = rows[:PREVIEW_ROWS]
        context = self._context(
            request,
            title=f"Preview: {run.kind} from {run.filename}",
            run=run,
            result=result,
            counts=result.counts,
            shown=shown,
            errors=result.errors[:1000],
            more_errors=max(0, len(result.errors) - 1000),
            preview_rows=PREVIEW_ROWS,
        )
        return TemplateResponse(request, "admin/accounts/importrun/preview.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        kind = request.GET.get("kind", "")
        fmt = request.GET.get("format", "csv")
        if kind not in KINDS or fmt not in FORMATS:
            messages.error(request, "Choose what to export and a format (csv or xlsx).")
            return redirect(reverse("admin:accounts_importrun_upload"))
        content_type = (
            "text/csv; charset=utf-8"
            if fmt == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response = HttpResponse(export_school(kind=kind, fmt=fmt), content_type=content_type)
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="{kind}-{stamp}.{fmt}"'
        return response
