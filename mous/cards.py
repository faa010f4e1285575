"""What the MOU app puts on a person's dashboard: the agreements waiting for them to approve or sign."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.http import HttpRequest

from mous import selectors
from mous.models import LetterOfUnderstanding, LouStatus, Mou, MouStatus, SignatureRequest
from taskforce import dashboard, permissions
from taskforce.dashboard import Card
from taskforce.models import TaskForce

# The agreements out for signature the coordinator's card lists; the rest are one link away (the MOU list).
# A task force with fifty agreements in signing rendered fifty rows on every dashboard view.
SIGNING_SHOWN = 6


def mou_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    user = request.user
    cards: list[Card] = []
    # Only the steps of the version now out for signature, chosen in SQL rather than after loading every step.
    steps = selectors.pending_steps_for(user, taskforce.pk).filter(version__mou__signing_version_id=F("version_id"))
    letters = LetterOfUnderstanding.objects.filter(
        mou__taskforce=taskforce, status=LouStatus.ISSUED, party__membership__liaison_group__user=user
    )
    # The ids of each list (permission-filtered) in one query; rows are read only for the lists that have any.
    # Most people have nothing to sign and no letter, and then this is the only query. The ids unordered (the
    # rows are read in their models' order): the steps' order would join the agencies for nothing.
    wanted: dict[str, Any] = {
        "steps": dashboard.ids(steps.order_by()),
        "letters": dashboard.ids(letters.order_by()),
    }
    manages = "manage_members" in permissions.request_perms(request, taskforce)  # asked once per request
    if manages:
        signing = permissions.visible_to(
            user, "mous.manage_mou", Mou.objects.filter(taskforce=taskforce, status=MouStatus.SIGNING)
        )
        wanted["signing"] = dashboard.ids(signing, limit=SIGNING_SHOWN)
        wanted["signing_total"] = dashboard.count(signing)
    found = dashboard.figures(taskforce, **wanted)
    step_rows = SignatureRequest.objects.filter(pk__in=found["steps"])
    letter_rows = LetterOfUnderstanding.objects.filter(pk__in=found["letters"])
    to_act = {
        "steps": list(step_rows.select_related("version__mou", "party__membership__agency")) if found["steps"] else [],
        "letters": list(letter_rows.select_related("mou", "party__membership__agency")) if found["letters"] else [],
    }
    if to_act["steps"] or to_act["letters"]:
        cards.append(Card("mous/cards/to_act.html", to_act, order=5))
    if manages and found["signing"]:
        # The first few in the list's order (newest first, as Mou's ordering reads them again here).
        mous = Mou.objects.filter(pk__in=found["signing"]).only("pk", "title").annotate(v=F("signing_version__number"))
        cards.append(Card("mous/cards/signing.html", {"mous": list(mous), "total": found["signing_total"]}, order=15))
    return cards
