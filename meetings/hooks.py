"""Extension points for apps that meetings may not import (cases plugs into the case-review segment).

cases registers, in its AppConfig.ready:

    hooks.register_case_item_access(lambda user, item: ...)   # may this person see this case-review item?
    hooks.register_case_item_renderer(lambda request, items: {item.pk: "<html>"})  # shown in their place
    hooks.register_case_minutes(lambda request, meeting: [...])  # the reviews, as this reader may see them
    hooks.register_case_items_prepare(lambda request, items: None)  # load a list's cases at once (optional)

The sealed minutes never hold case content: the restricted edition adds the case reviews at reading
time, each reader seeing only the cases they have full access to, and "Restricted case" for the others.

Until something registers, a case-review item follows the ordinary tier rules and shows its own text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CaseAccess = Callable[[Any, Any], bool]
# (request, the case-review items a page shows) -> item pk -> the partial shown in its place; one call per
# page, so the case reads it audits are written together.
CaseRenderer = Callable[[Any, list[Any]], dict[int, str]]
CaseMinutes = Callable[[Any, Any], list[dict[str, Any]]]

_case_access: CaseAccess | None = None
_case_renderer: CaseRenderer | None = None
_case_minutes: CaseMinutes | None = None
_case_items_prepare: Callable[[Any, list[Any]], None] | None = None


def register_case_item_access(func: CaseAccess) -> CaseAccess:
    global _case_access
    _case_access = func
    return func


def register_case_item_renderer(func: CaseRenderer) -> CaseRenderer:
    global _case_renderer
    _case_renderer = func
    return func


def case_item_access() -> CaseAccess | None:
    return _case_access


def case_item_renderer() -> CaseRenderer | None:
    return _case_renderer


def register_case_minutes(func: CaseMinutes) -> CaseMinutes:
    global _case_minutes
    _case_minutes = func
    return func


def case_reviews_for_minutes(request: Any, meeting: Any) -> list[dict[str, Any]]:
    """Each case-review entry of the meeting as `request.user` may see it (empty without the cases app)."""
    return _case_minutes(request, meeting) if _case_minutes is not None else []


def register_case_items_prepare(func: Callable[[Any, list[Any]], None]) -> Callable[[Any, list[Any]], None]:
    global _case_items_prepare
    _case_items_prepare = func
    return func


def prepare_case_items(request: Any, items: list[Any]) -> None:
    """Let cases load what a whole agenda's case-review items need in a few queries, before the per-item
    access checks and renderers run (each still decides per item; this only saves the repeated reads)."""
    if _case_items_prepare is not None:
        _case_items_prepare(request, items)
