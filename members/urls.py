from django.urls import include, path

from members import views

app_name = "members"

urlpatterns = [
    path("me/", views.my_profile, name="my_profile"),
    path("join/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("tf/<slug:slug>/directory/", views.directory, name="directory"),
    path("tf/<slug:slug>/directory.csv", views.directory_csv, name="directory_csv"),
    path("tf/<slug:slug>/directory.pdf", views.directory_pdf, name="directory_pdf"),
    path("tf/<slug:slug>/sectors/", views.sector_coverage, name="sectors"),
    path("tf/<slug:slug>/agencies/add/", views.onboard, name="onboard"),
    path("tf/<slug:slug>/agencies/<int:pk>/", views.membership_detail, name="membership_detail"),
    path("tf/<slug:slug>/agencies/<int:pk>/profile/", views.membership_edit, name="membership_edit"),
    path("tf/<slug:slug>/agencies/<int:pk>/details/", views.agency_edit, name="agency_edit"),
    path("tf/<slug:slug>/agencies/<int:pk>/invite/", views.invite, name="invite"),
    path("tf/<slug:slug>/agencies/<int:pk>/withdraw/", views.membership_withdraw, name="withdraw"),
    path("tf/<slug:slug>/invitations/<int:pk>/resend/", views.invitation_resend, name="invitation_resend"),
    path("tf/<slug:slug>/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("tf/<slug:slug>/people/<int:pk>/", views.person_detail, name="person_detail"),
    path("tf/<slug:slug>/people/<int:pk>/roles/", views.person_roles, name="person_roles"),
    path("tf/<slug:slug>/people/<int:pk>/offboard/", views.person_offboard, name="person_offboard"),
    path("tf/<slug:slug>/plan/", views.plan, name="plan"),
    path("tf/<slug:slug>/plan/goals/new/", views.goal_edit, name="goal_new"),
    path("tf/<slug:slug>/plan/goals/<int:pk>/", views.goal_edit, name="goal_edit"),
    path("tf/<slug:slug>/subcommittees/new/", views.subcommittee_edit, name="subcommittee_new"),
    path("tf/<slug:slug>/subcommittees/<int:pk>/", views.subcommittee_detail, name="subcommittee_detail"),
    path("tf/<slug:slug>/subcommittees/<int:pk>/edit/", views.subcommittee_edit, name="subcommittee_edit"),
    path("tf/<slug:slug>/training/", views.training, name="training"),
    path("tf/<slug:slug>/training/new/", views.training_edit, name="training_new"),
    path("tf/<slug:slug>/training/<int:pk>/", views.training_edit, name="training_edit"),
    path("tf/<slug:slug>/training/matrix/", views.training_matrix, name="training_matrix"),
    path("tf/<slug:slug>/training/topics/", views.training_topics, name="training_topics"),
    path(
        "tf/<slug:slug>/training/<int:pk>/certificate/<int:person_pk>.pdf",
        views.training_certificate,
        name="training_certificate",
    ),
    # Announcements, the resource library and the contact sheet (members/comms_urls.py).
    path("", include("members.comms_urls")),
]
