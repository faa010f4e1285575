from django.conf import settings
from django.urls import include, path

from taskforce import views

taskforce_patterns = [
    path("tf/new/", views.taskforce_create, name="create"),
    path("tf/<slug:slug>/", views.taskforce_dashboard, name="dashboard"),
    path("tf/<slug:slug>/charter/", views.charter, name="charter"),
    path("tf/<slug:slug>/charter/edit/", views.charter_edit, name="charter_edit"),
    path("tf/<slug:slug>/charter/history/", views.charter_history, name="charter_history"),
    path("audit/", views.audit_log, name="audit_log"),
    path("tf/<slug:slug>/health/", views.health_dashboard, name="health"),
    path("tf/<slug:slug>/health/report.pdf", views.health_report_pdf, name="health_report_pdf"),
    path("tf/<slug:slug>/health/report.csv", views.health_report_csv, name="health_report_csv"),
]
# The benchmark harness (bench/) turns this on for its own process only; production never routes it.
if getattr(settings, "BENCH_FLOOR", False):
    taskforce_patterns.append(path("tf/<slug:slug>/bench-floor/", views.bench_floor, name="bench_floor"))

urlpatterns = [
    path("", views.home, name="home"),
    path("", include((taskforce_patterns, "taskforce"))),
    path("", include("members.urls")),
    path("", include("mous.urls")),
    path("", include("meetings.urls")),
    path("", include("cases.urls")),
    path("accounts/", include("allauth.urls")),
]
