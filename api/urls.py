from django.urls import path, re_path

from api.views import courses, devices, docs, fallback, payments, sessions, students, timetable

app_name = "api"
urlpatterns = [
    path("sessions/refresh/", sessions.sessions_refresh, name="sessions-refresh"),
    path("sessions/status/", sessions.session_status, name="session-status"),
    path("sessions/", sessions.session_start, name="session-start"),
    path("sessions/<int:session_id>/end/", sessions.session_end, name="session-end"),
    path(
        "sessions/<int:session_id>/attendance/",
        sessions.session_attendance,
        name="session-attendance",
    ),
    path("courses/", courses.CourseList.as_view(), name="courses"),
    path(
        "courses/<int:course_id>/sessions/",
        courses.CourseSessionList.as_view(),
        name="course-sessions",
    ),
    path("students/", students.StudentList.as_view(), name="students"),
    path(
        "students/<int:student_id>/devices/",
        devices.StudentDevices.as_view(),
        name="student-devices",
    ),
    path("devices/<uuid:device_id>/revoke/", devices.DeviceRevoke.as_view(), name="device-revoke"),
    path("payments/", payments.payment_record, name="payment-record"),
    path("payments/<int:payment_id>/void/", payments.payment_void, name="payment-void"),
    path("timetable/week/", timetable.week, name="timetable-week"),
    path("timetable/next/", timetable.next_class, name="timetable-next"),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.DocsView.as_view(), name="docs"),
    # Last: anything else under /api/ is a JSON 404 (newlines in the path too).
    re_path(r"^(?P<path>[\s\S]*)$", fallback.not_found),
]
