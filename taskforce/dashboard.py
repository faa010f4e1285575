"""Dashboard cards. Apps register what needs a person's attention; the core never imports the apps.

A provider takes (request, taskforce) and returns cards: each a template name and its context,
already filtered to what that person may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from taskforce.models import TaskForce


@dataclass
class Card:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


Provider = Callable[[HttpRequest, TaskForce], list[Card]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def cards_for(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    cards = [card for provider in _providers for card in provider(request, taskforce)]
    return sorted(cards, key=lambda card: card.order)
