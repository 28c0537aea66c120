"""Fee payments: record one, void one. The ledger (payments.ledger) holds every rule."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api import schema
from api.access import validated
from api.errors import Conflict, Refused
from api.permissions import MayRecordPayments, MayVoidPayments
from api.serializers import payments as serializers
from attendance.models import Student
from payments import ledger
from payments.models import Payment, Term
from payments.selectors import active_term, fee_summary

TAGS = ["payments"]


def _ledger_error(exc: ledger.LedgerError) -> Exception:
    if isinstance(exc, ledger.DuplicateReference | ledger.AlreadyVoided):
        return Conflict(exc.message, code=exc.code)
    return Refused(exc.message, code=exc.code)


def _body(payment: Payment) -> dict:
    payment = Payment.objects.select_related("student", "term", "reversal").get(pk=payment.pk)
    summary = fee_summary(student=payment.student, term=payment.term)
    payment.balance, payment.status = summary.balance, summary.status
    return serializers.PaymentSerializer(payment).data


@extend_schema(
    tags=TAGS,
    summary="Record a payment (for the active term unless `term_id` is given)",
    request=serializers.PaymentRecordSerializer,
    responses={
        201: OpenApiResponse(serializers.PaymentSerializer, description="Recorded."),
        200: OpenApiResponse(
            serializers.PaymentSerializer,
            description="This idempotency key had already recorded it: the same payment.",
        ),
        **schema.errors(400, 401, 403, 404, 409, 413, 415),
    },
)
@api_view(["POST"])
@permission_classes([MayRecordPayments])
def payment_record(request: Request) -> Response:
    data = validated(serializers.PaymentRecordSerializer, request.data)
    student = get_object_or_404(Student, pk=data["student_id"])
    if "term_id" in data:
        term = get_object_or_404(Term, pk=data["term_id"])
    else:
        term = active_term()
        if term is None:
            raise Conflict("No term is active; give term_id.", code="no_active_term")
    try:
        result = ledger.record_payment(
            student=student,
            term=term,
            amount=data["amount"],
            method=data["method"],
            by=request.user,
            reference=data.get("reference", ""),
            received_at=data.get("received_at"),
            idempotency_key=data.get("idempotency_key"),
            note=data["note"],
        )
    except ledger.LedgerError as exc:
        raise _ledger_error(exc) from None
    code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return Response(_body(result.payment), status=code)


@extend_schema(
    tags=TAGS,
    summary="Void a payment with a reason; it stays on the statement but no longer counts",
    request=serializers.PaymentVoidSerializer,
    responses={
        200: serializers.PaymentSerializer,
        **schema.errors(400, 401, 403, 404, 409, 413, 415),
    },
)
@api_view(["POST"])
@permission_classes([MayVoidPayments])
def payment_void(request: Request, payment_id: int) -> Response:
    data = validated(serializers.PaymentVoidSerializer, request.data)
    payment = Payment.objects.select_related("student").filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.")
    try:
        ledger.void_payment(payment=payment, reason=data["reason"], by=request.user)
    except ledger.LedgerError as exc:
        raise _ledger_error(exc) from None
    return Response(_body(payment))
