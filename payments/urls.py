from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("students/", views.student_list, name="student-list"),
    path("students/export.csv", views.student_export, name="student-export"),
    path("students/<int:student_id>/", views.student_detail, name="student-detail"),
    path("students/<int:student_id>/payments/", views.payment_record, name="payment-record"),
    path("payments/<int:payment_id>/receipt/", views.payment_receipt, name="payment-receipt"),
]
