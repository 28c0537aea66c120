from django.urls import path

from payments import views

app_name = "payments"
urlpatterns = [
    path("students/", views.student_list, name="student-list"),
    path("students/export.csv", views.student_export, name="student-export"),
    path("students/export.xlsx", views.student_export_xlsx, name="student-export-xlsx"),
    path("students/<int:student_id>/", views.student_detail, name="student-detail"),
    path("students/<int:student_id>/payments/", views.payment_record, name="payment-record"),
    path("students/<int:student_id>/adjustments/", views.adjustment_add, name="adjustment-add"),
    path("payments/<int:payment_id>/receipt/", views.payment_receipt, name="payment-receipt"),
    path("payments/<int:payment_id>/void/", views.payment_void, name="payment-void"),
]
