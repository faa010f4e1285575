"""Dashboard cards. Apps register what needs a person's attention; the core never imports the apps.

A provider takes (request, taskforce) and returns cards: each a template name and its context,
already filtered to what that person may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Func, QuerySet, Subquery
from django.db.models.expressions import BaseExpression
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


def count(queryset: QuerySet) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY: one row whatever the rows), for figures()."""
    return Subquery(queryset.order_by().values(n=Func("pk", function="COUNT")))


def figures(taskforce: TaskForce, **expressions: BaseExpression) -> dict[str, Any]:
    """Each expression (a count, an array of ids: a subquery of its own) evaluated in ONE query, on the task
    force's row. A card gathers what it shows this way, then loads rows only for lists that are not empty:
    most people have nothing waiting in most cards, and each query saved is a round trip and a plan."""
    names = [f"_{name}" for name in expressions]
    row = (
        TaskForce.objects.filter(pk=taskforce.pk)
        .annotate(**{f"_{name}": expression for name, expression in expressions.items()})
        .values_list(*names)
        .get()
    )
    return dict(zip(expressions, row, strict=True))
