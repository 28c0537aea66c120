"""The timetable pages' forms: they parse input; meetings.py decides what is allowed."""

from django import forms

from attendance.courses import MAX_LATE_AFTER_MINUTES


class CancelForm(forms.Form):
    meeting = forms.IntegerField(min_value=1)
    date = forms.DateField()
    reason = forms.CharField(max_length=200, required=False)


class RestoreForm(forms.Form):
    occurrence = forms.IntegerField(min_value=1)


class ExtraClassForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    duration_minutes = forms.IntegerField(min_value=5, max_value=1440, initial=60)
    room = forms.CharField(max_length=50, required=False)


class LateThresholdForm(forms.Form):
    minutes = forms.IntegerField(
        min_value=0,
        max_value=MAX_LATE_AFTER_MINUTES,
        required=False,
        help_text="Blank: the school's default.",
    )


def first_error(form: forms.Form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ") if field in form.fields else ""
        return f"{label.capitalize()}: {errors[0]}" if label else errors[0]
    return "The form is not valid."
