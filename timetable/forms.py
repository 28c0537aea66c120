"""The timetable pages' forms: they parse input; meetings.py decides what is allowed."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from attendance.courses import MAX_LATE_AFTER_MINUTES
from attendance.days import FIRST_DAY, LAST_DAY

# A class's day: one the timetable can show.
DAY_VALIDATORS = [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]


class CancelForm(forms.Form):
    meeting = forms.IntegerField(min_value=1)
    date = forms.DateField(validators=DAY_VALIDATORS)
    reason = forms.CharField(max_length=200, required=False)


class RestoreForm(forms.Form):
    occurrence = forms.IntegerField(min_value=1)


class ExtraClassForm(forms.Form):
    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), validators=DAY_VALIDATORS
    )
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
