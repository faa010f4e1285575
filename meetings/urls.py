from django.urls import path

from meetings import views

app_name = "meetings"

T = "tf/<slug:slug>/meetings/"
M = T + "<int:pk>/"

urlpatterns = [
    path(T, views.meeting_list, name="list"),
    path(T + "new/", views.meeting_create, name="create"),
    path(T + "series/new/", views.series_create, name="series_create"),
    path(T + "backlog/", views.backlog, name="backlog"),
    path(T + "feedback/", views.feedback_trend, name="feedback_trend"),
    path(T + "calendar/", views.calendar, name="calendar"),
    path(M, views.meeting_detail, name="detail"),
    path(M + "edit/", views.meeting_edit, name="edit"),
    path(M + "cancel/", views.meeting_cancel, name="cancel"),
    path(M + "meeting.ics", views.meeting_ics, name="ics"),
    path(M + "submit/", views.item_submit, name="submit"),
    path(M + "agenda/add/", views.item_add, name="item_add"),
    path(M + "agenda/<int:item_pk>/edit/", views.item_edit, name="item_edit"),
    path(M + "agenda/<int:item_pk>/notes/", views.notes, name="notes"),
    path(M + "agenda/<int:item_pk>/<slug:action>/", views.item_action, name="item_action"),
    path(M + "circulate/", views.circulate, name="circulate"),
    path(M + "run/", views.run, name="run"),
    path(M + "run/<slug:action>/", views.run_action, name="run_action"),
    path(M + "live/", views.follow, name="follow"),
    path(M + "check-in/", views.check_in, name="check_in"),
    path(M + "attendance/", views.attendance, name="attendance"),
    path(M + "actions/new/", views.action_item_create, name="action_item_create"),
    path(M + "sign-in.pdf", views.signin_pdf, name="signin_pdf"),
    path(M + "minutes/", views.minutes, name="minutes"),
    path(M + "minutes/edit/", views.minutes_edit, name="minutes_edit"),
    path(M + "minutes/<slug:edition>.pdf", views.minutes_pdf, name="minutes_pdf"),
    path(M + "minutes/<slug:action>/", views.minutes_action, name="minutes_action"),
    path(M + "feedback/", views.feedback, name="feedback"),
    path("calendar/<str:token>.ics", views.feed, name="feed"),
    # Action items between meetings (meetings/actions.py).
    path("tf/<slug:slug>/actions/", views.action_list, name="actions"),
    path("tf/<slug:slug>/actions/new/", views.action_create, name="action_create"),
    path("tf/<slug:slug>/actions/overdue/", views.overdue_board, name="overdue_board"),
    path("tf/<slug:slug>/actions/<int:action_pk>/", views.action_detail, name="action_detail"),
    path("tf/<slug:slug>/actions/<int:action_pk>/edit/", views.action_edit, name="action_edit"),
    path("tf/<slug:slug>/actions/<int:action_pk>/report/", views.action_report, name="action_report"),
    path("tf/<slug:slug>/actions/<int:action_pk>/outcome/", views.action_outcome, name="action_outcome"),
    path(
        "tf/<slug:slug>/actions/<int:action_pk>/report-backs/<int:report_pk>/attachment/",
        views.report_back_attachment,
        name="report_back_attachment",
    ),
]
