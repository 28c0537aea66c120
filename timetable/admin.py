"""Django admin for the timetable: meetings inline on the course, closures, classes, feeds.

Meeting forms are checked by timetable/meetings.py's own rules (inside the
term, end after start, no overlap within the course; a clash in a lecturer's
week is a warning), so admin refuses what the service refuses, with the same
sentences; PostgreSQL's exclusion constraint backs them. Admin checks a form in the
transaction it saves in, so the forms read the course's other meetings under the
course's lock (meetings.locked_siblings) and the rows are saved through the
service: two admins adding overlapping meetings at once take turns, and the
second is told of the first's meeting. "Copy last term's
timetable" is an action on courses and on terms, calling meetings.copy_timetable.
This module extends attendance's CourseAdmin and payments' TermAdmin (it sits
above both), so those apps know nothing of the timetable.
"""

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect

from attendance.admin import CourseAdmin
from attendance.models import Course
from payments.admin import TermAdmin
from payments.models import Term
from timetable import feeds, meetings
from timetable.models import CalendarFeed, Closure, Meeting, Occurrence


class MeetingForm(forms.ModelForm):
    """Validity dates may be left blank: the term's own dates."""

    # Standalone (the Meeting admin) it checks the course's other meetings in the
    # database; inline, the formset checks them against the rows on the page and
    # the course's meetings that are not on it.
    check_siblings = True

    class Meta:
        model = Meeting
        fields = [
            "course",
            "term",
            "weekday",
            "start_time",
            "duration_minutes",
            "room",
            "late_after_minutes",
            "auto_start",
            "valid_from",
            "valid_to",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("valid_from", "valid_to"):
            self.fields[name].required = False
            self.fields[name].help_text = "Blank: the term's first (last) day."

    def slot(self) -> meetings.Slot | None:
        data = self.cleaned_data
        if any(data.get(n) is None for n in ("weekday", "start_time", "duration_minutes")):
            return None
        return meetings.Slot(
            weekday=data["weekday"],
            start_time=data["start_time"],
            duration_minutes=data["duration_minutes"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
        )

    def clean(self):
        data = super().clean()
        term = data.get("term")
        if term is not None:
            data["valid_from"] = data.get("valid_from") or term.starts_on
            data["valid_to"] = data.get("valid_to") or term.ends_on
            self.instance.valid_from, self.instance.valid_to = data["valid_from"], data["valid_to"]
        slot = self.slot() if term is not None else None
        if slot is None:
            return data
        problems = meetings.slot_problems(slot=slot, term=term)
        late = data.get("late_after_minutes")
        if late is not None and late > meetings.MAX_LATE_AFTER_MINUTES:
            problems.append(
                f"The late threshold is 0 to {meetings.MAX_LATE_AFTER_MINUTES} minutes."
            )
        course = data.get("course") or getattr(self.instance, "course", None)
        if not problems and self.check_siblings and course is not None:
            problems = meetings.overlap_problems(
                slot=slot,
                others=meetings.locked_siblings(course=course, exclude_pks=[self.instance.pk]),
            )
        if problems:
            raise forms.ValidationError(problems)
        return data


class InlineMeetingForm(MeetingForm):
    check_siblings = False

    class Meta(MeetingForm.Meta):
        fields = [f for f in MeetingForm.Meta.fields if f != "course"]


class MeetingFormSet(BaseInlineFormSet):
    """The course's whole timetable is on the page: its rows must not overlap each other."""

    def clean(self):
        super().clean()
        kept: list[tuple[str, meetings.Slot]] = []
        if self.instance.pk is not None:
            # Meetings added meanwhile (by another admin, or the service) are not on the page.
            kept = meetings.locked_siblings(
                course=self.instance, exclude_pks=[form.instance.pk for form in self.forms]
            )
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            slot = form.slot()
            if slot is None:
                continue
            problems = meetings.overlap_problems(slot=slot, others=kept)
            if problems:
                form.add_error(None, problems)
            kept.append((f"{self.instance.code} {slot.describe()}", slot))


class MeetingInline(admin.TabularInline):
    model = Meeting
    form = InlineMeetingForm
    formset = MeetingFormSet
    extra = 0
    autocomplete_fields = ["term"]
    ordering = ["weekday", "start_time"]


class SavedThroughTheService:
    """An admin whose meetings are saved by meetings.py. Its TimetableError (the
    constraint catching a write from outside the service) becomes a message and
    the form again, with nothing saved, never a server error."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except meetings.TimetableError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def _report_copy(modeladmin, request, result: meetings.CopyResult, into: Term) -> None:
    modeladmin.message_user(
        request, f"{len(result.copied)} meeting(s) copied into {into}.", messages.SUCCESS
    )
    for line in result.skipped:
        modeladmin.message_user(request, f"Skipped {line}", messages.WARNING)
    for line in result.warnings:
        modeladmin.message_user(request, line, messages.WARNING)


class TimetableCourseAdmin(SavedThroughTheService, CourseAdmin):
    inlines = [*CourseAdmin.inlines, MeetingInline]
    actions = [*(CourseAdmin.actions or []), "copy_last_terms_timetable"]

    def has_copy_timetable_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("timetable.add_meeting")

    @admin.action(
        description="Copy last term's timetable into the active term",
        permissions=["copy_timetable"],
    )
    def copy_last_terms_timetable(self, request: HttpRequest, queryset) -> None:
        target = Term.objects.filter(is_active=True).first()
        if target is None:
            self.message_user(request, "There is no active term to copy into.", messages.ERROR)
            return
        source = meetings.previous_term(target)
        if source is None:
            self.message_user(request, f"No term comes before {target}.", messages.ERROR)
            return
        result = meetings.copy_timetable(source=source, target=target, courses=list(queryset))
        _report_copy(self, request, result, target)

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, MeetingFormSet):
            return super().save_formset(request, form, formset, change)
        changed = formset.save(commit=False)
        # Removals first: a row may take the time of one removed on the same page.
        for meeting in formset.deleted_objects:
            meetings.meeting_remove(meeting=meeting)
        for meeting in changed:
            meetings.meeting_save(meeting=meeting)  # warnings: save_related, for every row

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Saved, but worth knowing: a lecturer of this course teaches elsewhere then.
        for meeting in Meeting.objects.filter(course=form.instance).select_related("course"):
            for warning in meetings.lecturer_clashes(
                course=meeting.course, slot=meetings.Slot.of(meeting), exclude_pk=meeting.pk
            ):
                self.message_user(request, f"{meeting}: {warning}", messages.WARNING)


class TimetableTermAdmin(TermAdmin):
    actions = [*(TermAdmin.actions or []), "copy_previous_timetable"]

    def has_copy_timetable_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("timetable.add_meeting")

    @admin.action(
        description="Copy the previous term's timetable into this term",
        permissions=["copy_timetable"],
    )
    def copy_previous_timetable(self, request: HttpRequest, queryset) -> None:
        for target in queryset:
            source = meetings.previous_term(target)
            if source is None:
                self.message_user(request, f"No term comes before {target}.", messages.ERROR)
                continue
            try:
                result = meetings.copy_timetable(source=source, target=target)
            except meetings.TimetableError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            _report_copy(self, request, result, target)


admin.site.unregister(Course)
admin.site.register(Course, TimetableCourseAdmin)
admin.site.unregister(Term)
admin.site.register(Term, TimetableTermAdmin)


@admin.register(Meeting)
class MeetingAdmin(SavedThroughTheService, admin.ModelAdmin):
    form = MeetingForm
    list_display = ["course", "weekday", "start_time", "duration_minutes", "room", "term",
                    "valid_from", "valid_to", "auto_start"]  # fmt: skip
    list_filter = ["weekday", "term", "auto_start"]
    search_fields = ["course__code", "room"]
    autocomplete_fields = ["course", "term"]
    list_select_related = ["course", "term"]

    def save_model(self, request, obj, form, change):
        for warning in meetings.meeting_save(meeting=obj):
            self.message_user(request, warning, messages.WARNING)


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_on", "ends_on"]
    search_fields = ["name"]
    date_hierarchy = "starts_on"


@admin.register(Occurrence)
class OccurrenceAdmin(admin.ModelAdmin):
    """Classes opened or cancelled: history, written by the sweep and the pages."""

    list_display = ["course", "date", "starts_at", "room", "status", "session", "reason"]
    list_filter = ["status", "date"]
    search_fields = ["course__code", "reason"]
    list_select_related = ["course", "session"]
    date_hierarchy = "date"
    actions = ["restore"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_restore_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("timetable.change_occurrence")

    @admin.action(description="Restore these cancelled classes", permissions=["restore"])
    def restore(self, request: HttpRequest, queryset) -> None:
        restored = 0
        for occurrence in queryset:
            try:
                meetings.restore_class(occurrence=occurrence)
            except meetings.TimetableError as exc:
                self.message_user(request, f"{occurrence}: {exc}", messages.ERROR)
            else:
                restored += 1
        if restored:
            self.message_user(request, f"{restored} class(es) restored.", messages.SUCCESS)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Users make their own addresses (only a hash is kept); staff may stop them."""

    list_display = ["user", "prefix", "is_active", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["is_active"]
    search_fields = ["user__username", "prefix"]
    actions = ["revoke"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_stop_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("timetable.change_calendarfeed")

    @admin.action(description="Stop these calendar addresses", permissions=["stop"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        stopped = sum(feeds.feed_revoke(user=feed.user) for feed in queryset if feed.is_active)
        self.message_user(request, f"{stopped} address(es) stopped.", messages.SUCCESS)
