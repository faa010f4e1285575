"""Announcements, the resource library and the contact sheet (names in the members namespace)."""

from django.urls import path

from members import comms_views as views

urlpatterns = [
    path("tf/<slug:slug>/announcements/", views.announcements, name="announcements"),
    path("tf/<slug:slug>/announcements/new/", views.announcement_new, name="announcement_new"),
    path("tf/<slug:slug>/announcements/<int:pk>/", views.announcement_detail, name="announcement"),
    path("tf/<slug:slug>/announcements/<int:pk>/delete/", views.announcement_delete, name="announcement_delete"),
    path("tf/<slug:slug>/library/", views.library, name="library"),
    path("tf/<slug:slug>/library/new/", views.document_new, name="document_new"),
    path("tf/<slug:slug>/library/folders/new/", views.folder_new, name="folder_new"),
    path("tf/<slug:slug>/library/<int:pk>/", views.document_detail, name="document"),
    path("tf/<slug:slug>/library/<int:pk>/edit/", views.document_edit, name="document_edit"),
    path("tf/<slug:slug>/library/<int:pk>/delete/", views.document_delete, name="document_delete"),
    path("tf/<slug:slug>/library/<int:pk>/versions/new/", views.version_new, name="version_new"),
    path("tf/<slug:slug>/library/<int:pk>/download/", views.document_download, name="document_download"),
    path("tf/<slug:slug>/library/<int:pk>/download/<int:number>/", views.version_download, name="version_download"),
    path("tf/<slug:slug>/contacts/", views.contact_sheet, name="contact_sheet"),
    path("tf/<slug:slug>/contacts.pdf", views.contact_sheet_pdf, name="contact_sheet_pdf"),
]
