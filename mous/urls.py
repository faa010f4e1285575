from django.urls import path

from mous import views

app_name = "mous"

P = "tf/<slug:slug>/mous/"
M = P + "<int:pk>/"

urlpatterns = [
    path(P, views.mou_list, name="list"),
    path(P + "new/", views.mou_create, name="create"),
    path(P + "verify/", views.verify, name="verify"),
    path(M, views.mou_detail, name="detail"),
    path(M + "settings/", views.mou_edit, name="edit"),
    path(M + "draft/", views.draft, name="draft"),
    path(M + "clauses/add/", views.clause_add, name="clause_add"),
    path(M + "clauses/<int:clause_pk>/", views.clause_edit, name="clause_edit"),
    path(M + "clauses/<int:clause_pk>/move/", views.clause_move, name="clause_move"),
    path(M + "clauses/<int:clause_pk>/delete/", views.clause_delete, name="clause_delete"),
    path(M + "circulate/", views.circulate, name="circulate"),
    path(M + "v<int:number>/", views.version_detail, name="circulated"),
    path(M + "v<int:number>/object/", views.objection_new, name="objection_new"),
    path(M + "compare/", views.diff, name="diff"),
    path(M + "objections/", views.objection_ledger, name="objections"),
    path(M + "objections/agenda/", views.objections_agenda, name="objections_agenda"),
    path(M + "objections/<int:objection_pk>/", views.objection_detail, name="objection"),
    path(M + "objections/<int:objection_pk>/withdraw/", views.objection_withdraw, name="objection_withdraw"),
    path(M + "objections/<int:objection_pk>/accept/", views.objection_accept, name="objection_accept"),
    path(M + "parties/<int:party_pk>/route/", views.routing, name="routing"),
    path(M + "parties/<int:party_pk>/letter/", views.lou_issue, name="lou_issue"),
    path(M + "parties/<int:party_pk>/ask-again/", views.party_resend, name="party_resend"),
    path(M + "send/", views.send_for_signature, name="send"),
    path(M + "steps/<int:request_pk>/", views.request_detail, name="request"),
    path(M + "steps/<int:request_pk>/sign/", views.request_sign, name="sign"),
    path(M + "steps/<int:request_pk>/approve/", views.request_approve, name="approve"),
    path(M + "steps/<int:request_pk>/decline/", views.request_decline, name="decline"),
    path(M + "steps/<int:request_pk>/remind/", views.request_remind, name="remind"),
    path(M + "letters/<int:letter_pk>/", views.lou_detail, name="lou"),
    path(M + "letters/<int:letter_pk>/letter.pdf", views.lou_pdf, name="lou_pdf"),
    path(M + "letters/<int:letter_pk>/acknowledge/", views.lou_acknowledge, name="lou_acknowledge"),
    path(M + "letters/<int:letter_pk>/withdraw/", views.lou_withdraw, name="lou_withdraw"),
    path(M + "executed.pdf", views.executed_pdf, name="pdf"),
    path(M + "renew/", views.renew, name="renew"),
]
