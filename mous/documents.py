"""The MOU's PDFs: the executed agreement with its signing certificate, and letters of understanding."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from mous import selectors
from mous.models import LetterOfUnderstanding, MouVersion, RecipientRole, RequestStatus, SignatureRequest
from taskforce.pdf import render_pdf


def executed_context(version: MouVersion) -> dict:
    mou = version.mou
    signatures = list(
        SignatureRequest.objects.filter(version=version, status__in=[RequestStatus.SIGNED, RequestStatus.APPROVED])
        .select_related("party__membership__agency", "user")
        .order_by("party__membership__agency__name", "order")
    )
    rows = selectors.status_matrix(mou)
    return {
        "taskforce": mou.taskforce,
        "mou": mou,
        "version": version,
        "clauses": list(version.clauses.all()),
        "signatures": [s for s in signatures if s.role == RecipientRole.SIGNER],
        "approvals": [s for s in signatures if s.role == RecipientRole.APPROVER],
        "letters": [r for r in rows if r.letter is not None],
        "title": mou.title,
        "subtitle": f"Executed version {version.label} · SHA-256 {version.sha256}",
        "confidentiality": "Executed agreement. Verify this copy on the task force's verification page.",
        "generated_at": timezone.now(),
    }


def executed_pdf(version: MouVersion, *, request: HttpRequest | None = None) -> bytes:
    return render_pdf("pdf/mou_executed.html", executed_context(version), request=request)


def lou_pdf(letter: LetterOfUnderstanding, *, request: HttpRequest | None = None) -> bytes:
    mou = letter.mou
    clauses = [c for c in letter.version.clauses.all() if c.number in set(letter.accepted_clause_numbers)]
    context = {
        "taskforce": mou.taskforce,
        "mou": mou,
        "letter": letter,
        "agency": letter.party.membership.agency,
        "clauses": clauses,
        "title": f"Letter of understanding: {letter.party.membership.agency.name}",
        "subtitle": f"{mou.title} · {letter.version.label} · unsigned",
        "confidentiality": "Letter of understanding. Not a signed agreement.",
    }
    return render_pdf("pdf/mou_lou.html", context, request=request)
