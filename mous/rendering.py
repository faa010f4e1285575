"""Clause text: Markdown rendered, then sanitised with nh3 to a small tag set; and clause-by-clause diffs.

The same sanitised HTML goes into pages and PDFs, so a script in a clause never runs in a browser and
never reaches WeasyPrint as markup.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import markdown
import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

CLAUSE_TAGS = {"p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "blockquote", "a", "code"}
CLAUSE_ATTRIBUTES = {"a": {"href", "title"}}


def clause_html(text: str) -> SafeString:
    """Markdown -> HTML -> nh3 with a small allow-list. Raw HTML in the source is escaped first."""
    # Escape raw HTML before Markdown sees it: a <script> or <img onerror> becomes visible text.
    html = markdown.markdown(escape(text or ""), extensions=["sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=CLAUSE_TAGS,
        attributes=CLAUSE_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above


_TOKEN = re.compile(r"\S+\s*|\s+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def inline_diff(old: str, new: str) -> SafeString:
    """Word-level diff of two texts as escaped HTML with <del> and <ins>."""
    a, b = _tokens(old), _tokens(new)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f'<del class="diff-del bg-danger-subtle text-danger-emphasis">{escape("".join(a[i1:i2]))}</del>')
        if op in ("insert", "replace"):
            out.append(
                f'<ins class="diff-ins bg-success-subtle text-success-emphasis">{escape("".join(b[j1:j2]))}</ins>'
            )
    return mark_safe("".join(out))  # noqa: S308 - every piece escaped


def side_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """The left (old, deletions marked) and right (new, insertions marked) halves of a word diff."""
    a, b = _tokens(old), _tokens(new)
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        old_part, new_part = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(old_part)
            right.append(new_part)
            continue
        if old_part:
            left.append(f'<del class="diff-del bg-danger-subtle text-danger-emphasis">{old_part}</del>')
        if new_part:
            right.append(f'<ins class="diff-ins bg-success-subtle text-success-emphasis">{new_part}</ins>')
    return mark_safe("".join(left)), mark_safe("".join(right))  # noqa: S308 - every piece escaped


@dataclass
class ClauseDiff:
    key: str
    state: str  # "same", "changed", "added", "removed"
    old_number: int | None
    new_number: int | None
    old_heading: str
    new_heading: str
    heading_inline: SafeString
    inline: SafeString
    left: SafeString
    right: SafeString

    @property
    def label(self) -> str:
        number = self.new_number if self.new_number is not None else self.old_number
        heading = self.new_heading or self.old_heading
        return f"{number}. {heading}"


def diff_versions(old_clauses, new_clauses) -> list[ClauseDiff]:
    """Clause by clause, matched by the clause's key across versions, in the new version's order."""
    old_by_key = {str(c.key): c for c in old_clauses}
    seen: set[str] = set()
    rows: list[ClauseDiff] = []
    for clause in new_clauses:
        key = str(clause.key)
        seen.add(key)
        old = old_by_key.get(key)
        if old is None:
            left, right = side_diff("", clause.body)
            rows.append(
                ClauseDiff(key, "added", None, clause.number, "", clause.heading,
                           inline_diff("", clause.heading), inline_diff("", clause.body), left, right)
            )  # fmt: skip
            continue
        same = old.body == clause.body and old.heading == clause.heading
        left, right = side_diff(old.body, clause.body)
        rows.append(
            ClauseDiff(key, "same" if same else "changed", old.number, clause.number, old.heading, clause.heading,
                       inline_diff(old.heading, clause.heading), inline_diff(old.body, clause.body), left, right)
        )  # fmt: skip
    for clause in old_clauses:
        if str(clause.key) not in seen:
            left, right = side_diff(clause.body, "")
            rows.append(
                ClauseDiff(str(clause.key), "removed", clause.number, None, clause.heading, "",
                           inline_diff(clause.heading, ""), inline_diff(clause.body, ""), left, right)
            )  # fmt: skip
    return rows
