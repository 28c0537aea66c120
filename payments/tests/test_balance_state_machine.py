"""Any sequence of bills, payments, voids, adjustments and extensions keeps every
balance row equal to its entries, and the status filters agree with the rule."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from attendance.models import Student
from payments import ledger
from payments.balances import Figures, find_drift, stored_figures
from payments.models import Term
from payments.selectors import FeeStatus, annotate_fees, fee_status, filter_fee_status

TODAY = timezone.localdate()
cents = st.integers(min_value=1, max_value=50_000).map(lambda n: Decimal(n) / 100)
days = st.integers(min_value=-20, max_value=20)


class LedgerMachine(RuleBasedStateMachine):
    """The model: what each student's row must hold, kept beside the real ledger."""

    payments = Bundle("payments")

    def __init__(self):
        super().__init__()
        # Each run lives in a transaction rolled back at teardown.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.user = None
        self.term = Term.objects.create(
            name="Machine term",
            year=2026,
            starts_on=TODAY - timedelta(days=30),
            ends_on=TODAY + timedelta(days=60),
            fee=Decimal("120.00"),
            due_on=TODAY + timedelta(days=5),
            is_active=True,
        )
        self.students: list[Student] = []
        self.model: dict[int, dict] = {}
        self.extended: set[int] = set()
        for _ in range(3):
            self.add_student()

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def row(self, student: Student) -> dict:
        return self.model.setdefault(
            student.pk,
            {
                "billed": Decimal(0),
                "adjustments": Decimal(0),
                "paid": Decimal(0),
                "charge_count": 0,
                "due_on": self.term.due_on,
                "fee": False,
            },
        )

    @precondition(lambda self: len(self.students) < 5)
    @rule()
    def add_student(self):
        n = Student.objects.count()
        self.students.append(
            Student.objects.create(student_number=f"M{n:03d}", first_name="M", last_name=str(n))
        )

    @rule()
    def bill(self):
        charged = ledger.bill_term(term=self.term)
        expected = [s for s in self.students if not self.row(s)["fee"]]
        assert charged == len(expected)
        for student in expected:
            row = self.row(student)
            row.update(fee=True, billed=row["billed"] + self.term.fee)
            row["charge_count"] += 1

    @rule(target=payments, i=st.integers(0, 4), amount=cents)
    def pay(self, i, amount):
        student = self.students[i % len(self.students)]
        payment = ledger.record_payment(
            student=student, term=self.term, amount=amount, method="cash", by=None
        ).payment
        self.row(student)["paid"] += amount
        return payment

    @rule(payment=consumes(payments))
    def void(self, payment):
        ledger.void_payment(payment=payment, reason="Bounced", by=None)
        self.model[payment.student_id]["paid"] -= payment.amount

    @rule(
        i=st.integers(0, 4),
        kind=st.sampled_from(["extra", "discount", "scholarship"]),
        amount=cents,
    )
    def adjust(self, i, kind, amount):
        student = self.students[i % len(self.students)]
        ledger.add_adjustment(
            student=student, term=self.term, kind=kind, amount=amount, reason="Because"
        )
        row = self.row(student)
        row["adjustments"] += amount if kind == "extra" else -amount
        row["charge_count"] += 1

    @rule(i=st.integers(0, 4), offset=days)
    def extend(self, i, offset):
        student = self.students[i % len(self.students)]
        due_on = TODAY + timedelta(days=offset)
        if due_on <= self.term.due_on:
            # Not later than everyone's date: refused, and nothing moves.
            with pytest.raises(ledger.LedgerError):
                ledger.extend_due_date(
                    student=student, term=self.term, due_on=due_on, reason="Plan"
                )
            return
        ledger.extend_due_date(student=student, term=self.term, due_on=due_on, reason="Plan")
        self.row(student)["due_on"] = due_on
        self.extended.add(student.pk)

    @precondition(lambda self: self.extended)
    @rule(data=st.data())
    def cancel_extension(self, data):
        student_id = data.draw(st.sampled_from(sorted(self.extended)))
        extension = self.term.due_date_extensions.get(student_id=student_id)
        ledger.cancel_due_date_extension(extension=extension)
        self.extended.discard(student_id)
        self.model[student_id]["due_on"] = self.term.due_on

    @rule(offset=days)
    def move_the_terms_due_date(self, offset):
        self.term.due_on = TODAY + timedelta(days=offset)
        ledger.save_term(term=self.term)
        for student_id, row in self.model.items():
            if student_id not in self.extended:
                row["due_on"] = self.term.due_on

    @invariant()
    def rows_equal_the_entries_and_the_model(self):
        ids = [s.pk for s in self.students]
        assert find_drift(term=self.term, student_ids=ids) == []
        stored = stored_figures(term=self.term, student_ids=ids)
        for student_id, row in self.model.items():
            want = Figures(**{k: v for k, v in row.items() if k != "fee"})
            assert stored[student_id] == want

    @invariant()
    def every_status_filter_finds_exactly_its_students(self):
        students = annotate_fees(Student.objects.all(), term=self.term, today=TODAY)
        expected = {}
        for student in self.students:
            row = self.model.get(student.pk)
            if row is None:
                expected[student.pk] = FeeStatus.NOT_BILLED
                continue
            expected[student.pk] = fee_status(
                billed=row["charge_count"] > 0,
                charged=row["billed"] + row["adjustments"],
                paid=row["paid"],
                due_on=row["due_on"],
                today=TODAY,
            )
        assert dict(students.values_list("pk", "fee_status")) == expected
        for status in FeeStatus.values:
            found = filter_fee_status(students, term=self.term, status=status, today=TODAY)
            assert set(found.values_list("pk", flat=True)) == {
                pk for pk, s in expected.items() if s == status
            }


LedgerMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.django_db
def test_balance_rows_follow_every_ledger_step():
    LedgerMachine.TestCase().runTest()
