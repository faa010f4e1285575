"""XSS in a real browser: the richest pages, every free-text field holding the corpus, and nothing runs.

The parser checks in test_xss.py are the exhaustive ones; this one asks Chromium itself. Payloads that
would run call alert() (a dialog) or set window.__xss; after each page has loaded and htmx has processed
it, neither has happened. The strict CSP would block most of them anyway, so a pass here means both the
escaping and the policy hold; test_xss.py checks each separately.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser import signed_in_page
from tests.cast import build_cast
from tests.security.test_xss import chunks_for, flood, free_text_columns, page_targets, value

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RICHEST = {
    "taskforce:dashboard",
    "taskforce:charter",
    "members:membership_detail",
    "members:directory",
    "members:announcement",
    "members:document",
    "mous:detail",
    "mous:draft",
    "mous:diff",
    "mous:objection",
    "meetings:detail",
    "meetings:minutes",
    "meetings:run",
    "meetings:action_detail",
    "cases:detail",
    "cases:history",
}


def test_no_payload_runs_in_the_browser(browser_settings, live_server, browser: Browser, monkeypatch):
    cast = build_cast()
    targets = page_targets(cast, monkeypatch, only=RICHEST)
    columns = free_text_columns()
    chunks = {column.label: chunks_for(column) for column in columns}
    flood(columns, lambda c, pk, n: value(c, pk, chunks[c.label][n % len(chunks[c.label])]))

    pages = {}
    dialogs: list[str] = []
    seen = 0
    for url, role in targets:
        if role not in pages:
            pages[role] = signed_in_page(browser, live_server.url, getattr(cast, role).email)
            pages[role].on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page = pages[role]
        response = page.goto(live_server.url + url)
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.__xss") == "undefined", url
        seen += "QX0" in page.content()
    assert dialogs == []
    assert seen == len(targets) == len(RICHEST)
