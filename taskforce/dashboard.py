"""Dashboard cards. Apps register what needs a person's attention; the core never imports the apps.

A provider takes (request, taskforce) and returns cards: each a template name and its context,
already filtered to what that person may see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections
from django.db.models import Func, QuerySet, Subquery
from django.db.models.expressions import BaseExpression
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language

from taskforce import freshness
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
    """The person's cards, cached until anything is written to the database (taskforce.freshness).

    Building them is a dozen permission-filtered queries; most dashboard views change nothing in between. Per
    person, language and time zone (a card's text and its notion of "today" may depend on either).
    """
    key = f"dashboard:{request.user.pk}:{taskforce.pk}:{get_language()}:{timezone.get_current_timezone_name()}"
    return freshness.cached(key, lambda: _build_cards(request, taskforce))


def _build_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    cards = [card for provider in _providers for card in provider(request, taskforce)]
    return sorted(cards, key=lambda card: card.order)


def count(queryset: QuerySet) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY: one row whatever the rows), for figures()."""
    return Subquery(queryset.order_by().values(n=Func("pk", function="COUNT")))


@dataclass(frozen=True)
class _SeparateIds:
    queryset: QuerySet


def ids(queryset: QuerySet, *, limit: int | None = None) -> BaseExpression | _SeparateIds:
    """The pks of `queryset` (the first `limit` in its order) as a list, for figures(): ARRAY(subquery) on
    PostgreSQL. SQLite (the embedded default) has no arrays: there figures() asks it as a query of its own."""
    pks = queryset.values("pk")
    if limit is not None:
        pks = pks[:limit]
    if connections[queryset.db].vendor == "postgresql":
        return ArraySubquery(pks)
    return _SeparateIds(pks)


def figures(taskforce: TaskForce, **expressions: BaseExpression | _SeparateIds) -> dict[str, Any]:
    """Each expression (a count, a list of ids: a subquery of its own) evaluated in ONE query, on the task
    force's row. A card gathers what it shows this way, then loads rows only for lists that are not empty:
    most people have nothing waiting in most cards, and each query saved is a round trip and a plan."""
    separate = {name: e for name, e in expressions.items() if isinstance(e, _SeparateIds)}
    together = {f"_{name}": e for name, e in expressions.items() if name not in separate}
    found: dict[str, Any] = {}
    if together:
        row = TaskForce.objects.filter(pk=taskforce.pk).annotate(**together).values_list(*together).get()
        found = {name[1:]: value for name, value in zip(together, row, strict=True)}
    found.update({name: [values["pk"] for values in e.queryset] for name, e in separate.items()})
    return found
