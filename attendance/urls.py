from django.urls import path

from attendance import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("courses/<int:course_id>/start/", views.session_start, name="session-start"),
    path("sessions/<int:session_id>/end/", views.session_end, name="session-end"),
    path("sessions/<int:session_id>/projector/", views.session_projector, name="session-projector"),
    path("sessions/refresh/", views.sessions_refresh, name="sessions-refresh"),
    path("sessions/", views.session_list, name="session-list"),
    path("courses/<int:course_id>/register/", views.course_register, name="course-register"),
    path(
        "courses/<int:course_id>/register.csv",
        views.course_register_csv,
        name="course-register-csv",
    ),
    path("sessions/<int:session_id>/", views.session_detail, name="session-detail"),
    path("sessions/<int:session_id>/records/mark/", views.records_mark, name="records-mark"),
    path(
        "sessions/<int:session_id>/records/<int:record_id>/mark/",
        views.record_mark,
        name="record-mark",
    ),
]
