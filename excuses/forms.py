"""The request and decision forms: shapes only; excuses/submissions.py and
excuses/decisions.py hold the rules."""

from django import forms

from excuses.decisions import COMMENT_MAX
from excuses.submissions import REASON_MAX


class ExcuseForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": REASON_MAX}),
        help_text=f"Why you missed the class or came late ({REASON_MAX} characters at most).",
    )
    attachment = forms.FileField(
        required=False,
        help_text="Optional: a PDF, JPEG or PNG (a doctor's note, a ticket), 5 MB at most.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX}),
        help_text="Sent to the student; needed to reject.",
    )
