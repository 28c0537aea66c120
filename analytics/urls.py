from django.urls import path

from analytics import views

urlpatterns = [
    path("courses/<int:course_id>/analytics/", views.course_analytics, name="course-analytics"),
    path("sessions/<int:session_id>/timeline/", views.session_timeline, name="session-timeline"),
]
