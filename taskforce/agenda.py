"""A seam for putting an item on a task force's next meeting agenda.

mous/ and cases/ may not import meetings/ (see ARCHITECTURE.md's dependency rules), yet an MOU
objection or a case must be able to land on the next agenda with one click. The meetings app
registers the handler at start-up; callers only know this function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models

from taskforce.models import TaskForce


class NoUpcomingMeeting(Exception):
    """There is no scheduled meeting to add the item to; the message says so to the user."""


@dataclass
class Proposal:
    taskforce: TaskForce
    title: str
    description: str
    item_type: str  # one of the meetings app's agenda item types, e.g. "mou_objections", "case_review"
    actor: Any
    source: models.Model | None = None
    restricted: bool = False


Handler = Callable[[Proposal], Any]
_handler: Handler | None = None


def register(handler: Handler) -> Handler:
    global _handler
    _handler = handler
    return handler


def propose(proposal: Proposal) -> Any:
    """Add the item to the next meeting; returns what the handler returns (the agenda item)."""
    if _handler is None:
        raise NoUpcomingMeeting("Meetings are not available in this deployment.")
    return _handler(proposal)
