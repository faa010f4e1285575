from django.urls import path

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
]
