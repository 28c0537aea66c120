from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path(
        "students/<int:student_id>/attendance/",
        views.student_attendance,
        name="student-attendance",
    ),
    path("courses/<int:course_id>/at-risk/", views.course_at_risk, name="course-at-risk"),
    path(
        "courses/<int:course_id>/at-risk.csv", views.course_at_risk_csv, name="course-at-risk-csv"
    ),
    path(
        "courses/<int:course_id>/at-risk.xlsx",
        views.course_at_risk_xlsx,
        name="course-at-risk-xlsx",
    ),
    path("at-risk/", views.school_at_risk, name="school-at-risk"),
    path("at-risk.csv", views.school_at_risk_csv, name="school-at-risk-csv"),
    path("at-risk.xlsx", views.school_at_risk_xlsx, name="school-at-risk-xlsx"),
]
