from django.urls import path

from cases import views

app_name = "cases"

CASE = "tf/<slug:slug>/cases/<int:pk>/"

urlpatterns = [
    path("tf/<slug:slug>/cases/", views.case_list, name="list"),
    path("tf/<slug:slug>/cases/mine/", views.my_cases, name="mine"),
    path("tf/<slug:slug>/cases/new/", views.case_create, name="create"),
    path("tf/<slug:slug>/cases/recommendations/", views.recommendations, name="recommendations"),
    path(CASE, views.case_detail, name="detail"),
    path(CASE + "edit/", views.case_edit, name="edit"),
    path(CASE + "history/", views.case_history, name="history"),
    path(CASE + "access-log/", views.access_log, name="access_log"),
    path(CASE + "agencies/", views.involved_agencies, name="agencies"),
    path(CASE + "sharing/", views.sharing, name="sharing"),
    path(CASE + "sharing/<int:grant_pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path(CASE + "releases/", views.releases, name="releases"),
    path(CASE + "releases/<int:release_pk>/revoke/", views.release_revoke, name="release_revoke"),
    path(CASE + "request-access/", views.request_access, name="request_access"),
    path(CASE + "requests/<int:request_pk>/decide/", views.request_decide, name="request_decide"),
    path(CASE + "reviews/new/", views.review_edit, name="review_new"),
    path(CASE + "reviews/<int:review_pk>/", views.review_edit, name="review_edit"),
    path(CASE + "reviews/<int:review_pk>/follow-ups/", views.follow_up_add, name="follow_up_add"),
    path(CASE + "follow-ups/<int:follow_up_pk>/status/", views.follow_up_status, name="follow_up_status"),
    path(CASE + "review-summary.pdf", views.review_pdf, name="review_pdf"),
    path(CASE + "propose/", views.propose_for_review, name="propose"),
]
