"""What the MOU app puts on a person's dashboard: the agreements waiting for them to approve or sign."""

from __future__ import annotations

from django.db.models import F
from django.http import HttpRequest

from mous import selectors
from mous.models import LetterOfUnderstanding, LouStatus, Mou, MouStatus
from taskforce import permissions
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def mou_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    user = request.user
    cards: list[Card] = []
    steps = [
        s for s in selectors.pending_steps_for(user, taskforce.pk) if s.version_id == s.version.mou.signing_version_id
    ]
    letters = list(
        LetterOfUnderstanding.objects.filter(
            mou__taskforce=taskforce,
            status=LouStatus.ISSUED,
            party__membership__liaison_group__user=user,
        ).select_related("mou", "party__membership__agency")
    )
    if steps or letters:
        cards.append(Card("mous/cards/to_act.html", {"steps": steps, "letters": letters}, order=5))
    if "manage_members" in permissions.request_perms(request, taskforce):  # asked once per request
        signing = list(
            permissions.visible_to(
                user, "mous.manage_mou", Mou.objects.filter(taskforce=taskforce, status=MouStatus.SIGNING)
            ).annotate(v=F("signing_version__number"))
        )
        if signing:
            cards.append(Card("mous/cards/signing.html", {"mous": signing}, order=15))
    return cards
