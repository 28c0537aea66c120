"""Admin for the fee ledger. Money rows are read-only here; actions call payments/ledger.py."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.template.response import TemplateResponse

from payments import ledger
from payments.forms import VoidPaymentForm
from payments.models import Charge, DueDateExtension, Payment, PaymentReversal, Term


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["__str__", "starts_on", "ends_on", "fee", "due_on", "is_active"]
    list_filter = ["is_active", "year"]
    search_fields = ["name"]
    # Activation goes through ledger.activate_term, so the one-active rule holds.
    readonly_fields = ["is_active"]
    actions = ["bill_terms", "make_active"]

    def save_model(self, request, obj, form, change) -> None:
        # A new due date reaches the students' balance rows in the same transaction.
        ledger.save_term(term=obj)

    @admin.action(
        description="Bill this term: charge every active student the term fee once",
        permissions=["change"],
    )
    def bill_terms(self, request: HttpRequest, queryset) -> None:
        for term in queryset:
            charged = ledger.bill_term(term=term, by=request.user)
            self.message_user(
                request,
                f"{term}: {charged} student(s) charged"
                + (" (everyone else already was)." if charged == 0 else "."),
                messages.SUCCESS,
            )

    @admin.action(description="Make this the active term", permissions=["change"])
    def make_active(self, request: HttpRequest, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one term to activate.", messages.ERROR)
            return
        try:
            term = ledger.activate_term(term=queryset.get())
        except ledger.LedgerError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{term} is now the active term.", messages.SUCCESS)


class LedgerEntryAdmin(admin.ModelAdmin):
    """Entries are never changed or deleted: everything is read-only once written."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the change page becomes a read-only view

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return super().get_readonly_fields(request, obj)
        return [f.name for f in self.model._meta.fields]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ChargeForm(forms.ModelForm):
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="Positive; discounts and scholarships are stored as negative charges.",
    )
    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in Charge.Kind if k != Charge.Kind.TERM_FEE]
    )

    class Meta:
        model = Charge
        fields = ["student", "term", "kind", "amount", "reason"]

    def clean_amount(self):
        # Signed here so the model's constraint check sees what the ledger will store.
        amount = self.cleaned_data["amount"]
        return -amount if self.cleaned_data.get("kind") in Charge.CREDIT_KINDS else amount


@admin.register(Charge)
class ChargeAdmin(LedgerEntryAdmin):
    list_display = ["student", "term", "kind", "amount", "reason", "created_at"]
    list_filter = ["term", "kind"]
    search_fields = ["student__student_number", "student__last_name", "reason"]
    list_select_related = ["student", "term"]
    raw_id_fields = ["student"]
    form = ChargeForm

    def save_model(self, request, obj, form, change) -> None:
        # New adjustments go through the ledger (sign, reason, lock); the admin's
        # own insert is replaced by the ledger's row.
        data = form.cleaned_data
        charge = ledger.add_adjustment(
            student=data["student"],
            term=data["term"],
            kind=data["kind"],
            amount=abs(data["amount"]),
            reason=data["reason"],
            by=request.user,
        )
        obj.pk = charge.pk
        obj.amount = charge.amount
        obj.created_at = charge.created_at
        obj._state.adding = False


class VoidedFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "voided"

    def lookups(self, request, model_admin):
        return [("no", "Valid"), ("yes", "Voided")]

    def queryset(self, request, queryset):
        voided = Exists(PaymentReversal.objects.filter(payment=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(voided)
        if self.value() == "no":
            return queryset.exclude(voided)
        return queryset


@admin.register(Payment)
class PaymentAdmin(LedgerEntryAdmin):
    list_display = [
        "reference",
        "student",
        "term",
        "amount",
        "method",
        "received_at",
        "recorded_by",
        "is_voided",
    ]
    list_filter = ["term", VoidedFilter, "method"]
    search_fields = ["reference", "student__student_number", "student__last_name"]
    list_select_related = ["student", "term", "recorded_by", "reversal"]
    date_hierarchy = "received_at"
    actions = ["void_payments"]

    @admin.display(boolean=True, description="Voided")
    def is_voided(self, obj: Payment) -> bool:
        return obj.is_voided

    def has_add_permission(self, request) -> bool:
        # Payments are recorded on the student's page, through the ledger and its
        # idempotency key, so there is one way in.
        return False

    def has_void_permission(self, request: HttpRequest) -> bool:
        # Admin keeps to Django's permissions: a staff login that may only view
        # payments here is not offered the action.
        return request.user.has_perm("payments.add_paymentreversal")

    @admin.action(
        description="Void the selected payments (asks for a reason)", permissions=["void"]
    )
    def void_payments(self, request: HttpRequest, queryset):
        payments = list(queryset.select_related("student", "term"))
        form = VoidPaymentForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            voided = 0
            for payment in payments:
                try:
                    ledger.void_payment(
                        payment=payment, reason=form.cleaned_data["reason"], by=request.user
                    )
                    voided += 1
                except ledger.LedgerError as exc:
                    self.message_user(request, exc.message, messages.WARNING)
            self.message_user(request, f"{voided} payment(s) voided.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Void payments",
            "payments": payments,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "payments/admin_void_payments.html", context)


@admin.register(PaymentReversal)
class PaymentReversalAdmin(LedgerEntryAdmin):
    list_display = ["payment", "reason", "reversed_by", "reversed_at"]
    list_filter = ["payment__term"]
    search_fields = ["payment__reference", "reason"]
    list_select_related = ["payment", "reversed_by"]

    def has_add_permission(self, request) -> bool:
        return False  # the Void action on payments makes reversals


class DueDateExtensionForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        term = cleaned.get("term") or (self.instance.term if self.instance.term_id else None)
        if term is not None and cleaned.get("due_on"):
            try:
                ledger.check_extension_date(term=term, due_on=cleaned["due_on"])
            except ledger.LedgerError as exc:
                self.add_error("due_on", exc.message)
        return cleaned


@admin.register(DueDateExtension)
class DueDateExtensionAdmin(admin.ModelAdmin):
    """Payment plans. Saving and deleting go through the ledger, which moves the
    student's balance row to the new due date in the same transaction."""

    form = DueDateExtensionForm

    list_display = ["student", "term", "due_on", "reason", "granted_by"]
    list_filter = ["term"]
    search_fields = ["student__student_number", "student__last_name"]
    raw_id_fields = ["student"]
    readonly_fields = ["granted_by", "granted_at"]

    def get_readonly_fields(self, request, obj=None):
        # Another student or term is another extension: delete this one and add that.
        if obj is not None:
            return [*self.readonly_fields, "student", "term"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        extension = ledger.extend_due_date(
            student=obj.student,
            term=obj.term,
            due_on=obj.due_on,
            reason=obj.reason,
            by=request.user,
        )
        obj.pk = extension.pk
        obj._state.adding = False

    def delete_model(self, request, obj) -> None:
        ledger.cancel_due_date_extension(extension=obj)

    def delete_queryset(self, request, queryset) -> None:
        for extension in queryset.select_related("student"):
            ledger.cancel_due_date_extension(extension=extension)
