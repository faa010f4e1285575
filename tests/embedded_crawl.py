"""Run by tests/test_embedded_default.py in a process of its own: every page the demo people can reach, on SQLite.

Exits non-zero listing each page that answered a server error. Settings come from the environment, as `make run`
gives them (DATABASE_URL to a SQLite file, no REDIS_URL: in-process tasks, the local-memory cache).
"""

from __future__ import annotations

import os
import re
import sys

import django

DEMO_PEOPLE = ("coordinator@example.org", "liaison@example.org", "facilitator@example.org", "member@example.org")
PAGES_EACH = 120
SKIPPED = ("logout", "/static/", "/accounts/", "/media/", ".pdf", "export", "download")


def crawl(client, start: str = "/") -> tuple[int, list[str]]:
    seen: set[str] = set()
    todo, errors = [start], []
    while todo and len(seen) < PAGES_EACH:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code >= 500:
            errors.append(url)
        elif response.status_code in (301, 302) and response["Location"].startswith("/"):
            todo.append(response["Location"].split("?")[0])
        elif response.status_code == 200 and "html" in response.get("Content-Type", ""):
            for href in re.findall(r'href="(/[^"#?]*)"', response.content.decode()):
                if href not in seen and not any(part in href for part in SKIPPED):
                    todo.append(href)
    return len(seen), errors


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskforce.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from members.models import User

    assert connection.vendor == "sqlite", connection.vendor
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.REQUIRE_MFA = False  # the second-factor gate has tests of its own; this is about the pages behind it
    failed = []
    for email in DEMO_PEOPLE:
        client = Client()
        client.force_login(User.objects.get(email=email))
        pages, errors = crawl(client)
        print(f"{email}: {pages} pages, {len(errors)} server errors")
        failed += [f"{email} {url}" for url in errors]
    print("\n".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
