"""PDF rendering: a real document comes out, and it fetches nothing but our own static files."""

from __future__ import annotations

import http.server
import io
import logging
import os
import re
import struct
import subprocess
import sys
import threading
import time
import unicodedata
import zlib
from pathlib import Path

import pypdf
import pytest
from django.urls import reverse

from taskforce.pdf import StaticOnlyFetcher, find_static, pdf_response, render_pdf, static_prefixes

ROOT = Path(__file__).resolve().parents[2]

# 1x1 transparent PNG.
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.STATIC_URL = "/static/"


@pytest.fixture
def trap():
    """A local HTTP server that counts requests: any request at all means the fetcher went to the network."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def pdf_templates(tmp_path, settings):
    """Templates written by the test, next to the project's own (pdf/base.html among them)."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]

    def write(name: str, source: str) -> str:
        (tmp_path / name).write_text(source)
        return name

    return write


HOSTILE = """{% extends "pdf/base.html" %}
{% block extra_head %}
<link rel="stylesheet" href="http://example.com/x.css">
<link rel="stylesheet" href="{{ trap_url }}/trap.css">
<link rel="stylesheet" href="file:///etc/passwd">
<style>
@import url("file:///etc/hosts");
@font-face { font-family: Tracker; src: url("http://example.com/font.woff"); }
.cover { background: url("http://example.com/bg.png"); font-family: Tracker; }
</style>
{% endblock %}
{% block content %}
<h2>Decisions</h2>
<p>Submitted by {{ author }}</p>
<img src="file:///etc/passwd" alt="">
<img src="/static/../../etc/passwd" alt="">
<img src="/static/%2e%2e/%2e%2e/etc/passwd" alt="">
<img src="https://evil.example/static/pdf/print.css" alt="">
<img src="{{ pixel }}" alt="">
<p class="cover">Cover</p>
<object data="http://example.com/object.png" type="image/png"></object>
<svg width="10" height="10"><image href="file:///etc/passwd" width="10" height="10"/></svg>
{% for n in rows %}<p>Item {{ n }}: the coordinator reported back on the shelter referral protocol.</p>{% endfor %}
{% endblock %}
"""


def pdf_text(pdf: bytes) -> tuple[pypdf.PdfReader, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text() for page in reader.pages]


def test_it_renders_a_document_and_refuses_everything_but_static(pdf_templates, trap, caplog):
    trap_url, hits = trap
    template = pdf_templates("hostile.html", HOSTILE)
    caplog.set_level(logging.WARNING, logger="taskforce.pdf")

    pdf = render_pdf(
        template,
        {
            "title": "Minutes of the March meeting",
            "taskforce": {"name": "Riverside Anti-Trafficking Task Force"},
            "author": '<img src="file:///etc/shadow"> Eve',
            "draft": True,
            "rows": range(80),
            "trap_url": trap_url,
            "pixel": PIXEL,
        },
    )

    assert pdf.startswith(b"%PDF-")
    reader, pages = pdf_text(pdf)
    assert len(pages) >= 2
    first = pages[0]
    assert "Minutes of the March meeting" in first
    assert "Riverside Anti-Trafficking Task Force" in first
    assert f"Page 1 of {len(pages)}" in first
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "Confidential: for task force members only" in first
    assert "Generated " in first
    assert "DRAFT" in first
    # User text is autoescaped: it shows as text and was never fetched.
    assert 'Submitted by <img src="file:///etc/shadow"> Eve' in first
    assert reader.metadata.title == "Minutes of the March meeting"
    # print.css came through the fetcher from our static dir: it is what makes the page A4.
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)

    refused = [r.args[0] for r in caplog.records if r.name == "taskforce.pdf"]
    assert "http://example.com/x.css" in refused
    assert f"{trap_url}/trap.css" in refused
    assert "file:///etc/passwd" in refused
    assert "http://127.0.0.1:8000/etc/passwd" in refused  # ../ resolved away from /static/
    assert "http://127.0.0.1:8000/static/%2e%2e/%2e%2e/etc/passwd" in refused
    assert "https://evil.example/static/pdf/print.css" in refused
    for url in (
        "file:///etc/hosts",  # CSS @import
        "http://example.com/font.woff",  # @font-face
        "http://example.com/bg.png",  # background image
        "http://example.com/object.png",  # <object>
    ):
        assert url in refused
    assert not any("shadow" in url for url in refused)
    assert not any(url.startswith("data:") for url in refused)
    assert hits == []  # nothing reached the network


def test_static_urls_resolve_against_the_request_host_too(pdf_templates, rf, caplog):
    template = pdf_templates("plain.html", '{% extends "pdf/base.html" %}{% block content %}Body{% endblock %}')
    request = rf.get("/", HTTP_HOST="testserver")

    reader, pages = pdf_text(render_pdf(template, {"title": "Plain"}, request=request))

    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # print.css was loaded
    assert "Page 1 of 1" in pages[0]
    assert not [r for r in caplog.records if r.name == "taskforce.pdf"]


def test_user_markup_is_sanitised_when_rich_text_is_wanted(pdf_templates):
    template = pdf_templates(
        "rich.html",
        '{% extends "pdf/base.html" %}{% load pdf_tags %}{% block content %}{{ summary|markdown }}{% endblock %}',
    )
    summary = '## Outcome\n\n**Agreed** to meet monthly.\n\n<script>alert(1)</script><img src="file:///etc/passwd">'

    _, pages = pdf_text(render_pdf(template, {"title": "Summary", "summary": summary}))

    assert "Outcome" in pages[0]
    assert "Agreed to meet monthly." in pages[0]
    assert "alert" not in pages[0]


def test_markdown_filter_keeps_formatting_and_drops_the_rest():
    from taskforce.templatetags.pdf_tags import markdown, sanitize_html

    html = markdown("**bold** [site](https://example.org) [x](javascript:alert(1))\n\n<iframe src=x></iframe>")
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html
    assert "javascript" not in html and "iframe" not in html
    assert sanitize_html('<p style="color:red" onclick="x()">hi</p>') == "<p>hi</p>"


def test_the_fetcher_serves_only_static_files(rf):
    request = rf.get("/", HTTP_HOST="testserver")
    fetcher = StaticOnlyFetcher(static_prefixes=static_prefixes(request))

    for url in (
        "http://127.0.0.1:8000/static/pdf/print.css",
        "http://testserver/static/pdf/print.css",
        "http://127.0.0.1:8000/static/pdf/print.css?v=2#x",
    ):
        response = fetcher.fetch(url)
        assert response.content_type == "text/css"
        assert b"@page" in response.read()
        response.close()
    assert fetcher.fetch(PIXEL).content_type == "image/png"

    for url in (
        "http://127.0.0.1:8000/static/pdf/missing.css",
        "http://127.0.0.1:8000/static/",
        "http://127.0.0.1:8000/static/%2e%2e/taskforce/settings.py",
        "http://127.0.0.1:8000/static/..%2fmanage.py",
        "http://127.0.0.1:8000/media/secret.pdf",
        "https://127.0.0.1:8000/static/pdf/print.css",  # another origin, even if it is the same host
        "file:///work/main/static/pdf/print.css",
        "ftp://127.0.0.1/static/pdf/print.css",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 8


def test_find_static_stays_inside_the_static_dirs():
    assert find_static("pdf/print.css").name == "print.css"
    for path in ("", ".", "../manage.py", "/etc/passwd", "pdf/../../manage.py", "pdf\\print.css", "a\x00b"):
        assert find_static(path) is None


def test_pdf_response_is_a_download_that_is_never_sniffed_or_cached():
    response = pdf_response(b"%PDF-1.7 ...", 'Minutes "March".pdf')

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "Minutes" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content == b"%PDF-1.7 ..."
    assert pdf_response(b"", "report")["Content-Disposition"].endswith('"report.pdf"')


# --- inert output: no attachments, no scripts, no links but http(s)/mailto --------------------------------

INERT = """{% extends "pdf/base.html" %}
{% block extra_head %}<link rel="attachment" href="/static/pdf/print.css" title="embedded">{% endblock %}
{% block content %}
<p><a rel="attachment" href="/static/pdf/print.css">attached through a link</a></p>
<p><a href="javascript:app.alert(1)">js link</a> <a href="file:///etc/passwd">file link</a>
<a href="data:text/html,x">data link</a> <a href="https://example.org/ok">web link</a> <a href="#top">top</a></p>
{% endblock %}
"""


def test_a_pdf_carries_no_attachment_script_or_unsafe_link(pdf_templates):
    """WeasyPrint embeds `rel=attachment` targets and keeps every link: ours drops all but web links."""
    from tests.security.payloads import pdf_problems

    pdf = render_pdf(pdf_templates("inert.html", INERT), {"title": "Inert"})

    problems, text = pdf_problems(pdf)
    assert problems == []
    assert "attached through a link" in text and "js link" in text  # the text stays, the behaviour goes
    uris = [
        str(annot.get_object()["/A"].get("/URI"))
        for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
        for annot in page.get("/Annots") or []
        if "/A" in annot.get_object()
    ]
    assert uris == ["https://example.org/ok"]


def test_a_static_url_that_would_redirect_is_never_requested(pdf_templates, trap, settings):
    """With STATIC_URL on another host (a CDN), static files are still read from disk: no request, so no
    redirect to follow, even for a static path that the server would redirect to file:///etc/passwd."""
    trap_url, hits = trap
    settings.STATIC_URL = f"{trap_url}/static/"
    template = pdf_templates(
        "redirect.html",
        '{% extends "pdf/base.html" %}{% block content %}<img src="'
        + trap_url
        + '/static/redirect-me.png"><img src="'
        + trap_url
        + '/elsewhere.png">Body{% endblock %}',
    )

    _, pages = pdf_text(render_pdf(template, {"title": "CDN"}))

    assert "Body" in pages[0]
    assert hits == []


# --- hostile documents: a clear error, quickly, and the process carries on --------------------------------


HOSTILE_BODIES = {
    "a 5 MB minutes text": "x" * 5_000_000,
    "10,000 nested elements": "<div>" * 10_000 + "deep" + "</div>" * 10_000,
    "a table of 100,000 rows": "<table>" + "<tr><td>a</td><td>b</td></tr>" * 100_000 + "</table>",
}


@pytest.mark.parametrize("kind", list(HOSTILE_BODIES))
def test_a_hostile_document_ends_in_a_clear_error_at_once(kind, pdf_templates):
    from taskforce.pdf import DocumentTooLarge

    template = pdf_templates(
        "hostile_doc.html", '{% extends "pdf/base.html" %}{% block content %}{{ body|safe }}{% endblock %}'
    )
    started = time.monotonic()
    with pytest.raises(DocumentTooLarge, match="too large to make into a PDF"):
        render_pdf(template, {"title": "Hostile", "body": HOSTILE_BODIES[kind]})
    assert time.monotonic() - started < 10
    # The process that asked is fine and renders the next document.
    assert render_pdf(template, {"title": "Fine", "body": "<p>Small</p>"}).startswith(b"%PDF-")


def _no_children_left() -> bool:
    """No rendering child of this process is alive or left unreaped (a zombie). Other children (the
    Playwright driver, in a full run) have their own command lines; a forked child shares ours."""
    ours = Path("/proc/self/cmdline").read_bytes()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != os.getpid():
                continue
            if fields[0] == "Z" or (stat.parent / "cmdline").read_bytes() == ours:
                return False
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return True


def _png(width: int, height: int) -> bytes:
    """A black RGB PNG: a few hundred KB on disk, width x height x 3 bytes once decoded."""
    row = b"\x00" + b"\x00" * (width * 3)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    packer = zlib.compressobj(9)  # row by row: the decoded size never exists in the test's own memory
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_a_layout_past_the_deadline_is_killed_and_reported(pdf_templates, settings):
    """Below the size caps but slow to lay out: the child is killed at PDF_RENDER_TIMEOUT."""
    from taskforce.pdf import DocumentTooLarge

    settings.PDF_RENDER_TIMEOUT = 0.5
    template = pdf_templates(
        "slow.html", '{% extends "pdf/base.html" %}{% block content %}{{ body|safe }}{% endblock %}'
    )
    body = "<table>" + "<tr><td>cell</td><td>cell</td></tr>" * 15_000 + "</table>"  # ~45,000 elements: allowed
    started = time.monotonic()
    with pytest.raises(DocumentTooLarge):
        render_pdf(template, {"title": "Slow", "body": body})
    assert time.monotonic() - started < 5
    assert _no_children_left()
    settings.PDF_RENDER_TIMEOUT = 30
    assert render_pdf(template, {"title": "Fine", "body": "<p>Small</p>"}).startswith(b"%PDF-")


OVER_THE_CEILING = """
import base64, django, sys
django.setup()
from django.conf import settings
from taskforce import pdf
from tests.security.test_pdf_documents import _png

settings.PDF_RENDER_MEMORY_MB = 64
image = "data:image/png;base64," + base64.b64encode(_png(9000, 9000)).decode()
try:
    pdf._render_in_child(f'<img src="{image}" style="width: 10cm">', "http://testserver/", [])
except pdf.DocumentTooLarge as refused:
    print("refused:", refused)
else:
    print("rendered")
"""


def test_a_layout_past_the_memory_ceiling_is_stopped_and_reported(pdf_templates, settings):
    """An image of 9000 x 9000 pixels needs 243 MB decoded: past a 64 MB ceiling, so the layout child stops
    with MemoryError and the caller gets the clear error. (Pillow's own decompression-bomb limit, about 89
    million pixels, would refuse a larger image before our ceiling is reached. WeasyPrint logs a MemoryError
    inside its image loader away as a missing image; the child notices that and refuses the document.)

    Asked of a fresh worker process: the ceiling is what the worker maps plus 64 MB, and heap a process has
    freed counts as mapped, so after a whole test session in this process that slack held a 108 MB image.
    """
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", OVER_THE_CEILING], capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "taskforce.settings"},
    )  # fmt: skip
    assert done.stdout.startswith("refused:"), done.stdout + done.stderr[-2000:]
    assert time.monotonic() - started < 60
    # The worker itself carries on: the next document renders.
    template = pdf_templates("fine.html", '{% extends "pdf/base.html" %}{% block content %}<p>Small</p>{% endblock %}')
    assert render_pdf(template, {"title": "Fine"}).startswith(b"%PDF-")
    assert _no_children_left()


# --- the app's own PDFs, with the XSS corpus in every free-text column -------------------------------------


def _squash(text: str) -> str:
    """Text extraction re-wraps lines, and some headings are set in capitals (and come out as UTF-16 with
    NULs): compare without whitespace, NULs or case."""
    return "".join(unicodedata.normalize("NFKC", text).replace("\x00", "").split()).casefold()


def _printed(payload: str, text: str) -> bool:
    """`payload` appears in the squashed `text`, allowing for the fi/fl ligatures that extraction garbles."""
    pattern = re.escape(_squash(payload)).replace("fi", "(?:fi|..?)").replace("fl", "(?:fl|..?)")
    return re.search(pattern, text) is not None


def test_every_app_pdf_shows_payloads_as_text_and_carries_nothing_active(cast, monkeypatch, settings):
    """MOU letter and executed copy, minutes, sign-in sheet, directory, contact sheet, health report, case
    review summary, training certificate: user text is printed literally, never laid out as markup."""
    from tests.security.payloads import XSS_PAYLOADS, pdf_problems
    from tests.security.test_xss import chunks_for, crawl, flood, free_text_columns, page_targets, value

    settings.REQUIRE_MFA = False
    targets = page_targets(cast, monkeypatch, pdfs=True)
    columns = free_text_columns()
    chunks = {column.label: chunks_for(column) for column in columns}
    flood(columns, lambda c, pk, n: value(c, pk, chunks[c.label][n % len(chunks[c.label])]))

    texts = {}
    for (url, role), page in crawl(cast, targets).items():
        assert page.status == 200 and page.content_type == "application/pdf", f"{url} as {role}: {page.status}"
        problems, text = pdf_problems(page.body)
        assert problems == [], f"{url}: {problems}"
        texts[url] = _squash(text)
        assert "qx0" in texts[url], f"{url}: no user text reached this PDF, so it proves nothing"

    assert len(texts) >= 8
    everything = "".join(texts.values())
    # Long fields (minutes, case summaries, clauses) carry the whole corpus: each payload is there as text.
    # (Not the full-width one: the PDF fonts have no glyphs for ＜ ＞, so it cannot be read back as text.)
    missing = [p for p in XSS_PAYLOADS if p.isascii() and not _printed(p, everything)]
    assert missing == []


def test_a_pdf_view_answers_a_too_large_document_with_a_message_not_a_500(cast, client_for, settings):
    """A 5 MB minutes summary: the download link leads back to the page with the reason, or to a page
    saying so (413) when there is no page to go back to."""
    from meetings.models import Minutes
    from tests.meetings.matrix_entries import _minutes_pdf

    settings.REQUIRE_MFA = False
    kwargs = _minutes_pdf(cast)
    Minutes.objects.filter(meeting_id=kwargs["pk"]).update(summary="The long version. " * 300_000)
    client = client_for(cast.coordinator)
    url = reverse("meetings:minutes_pdf", kwargs=kwargs)
    minutes_page = reverse("meetings:minutes", kwargs={"slug": kwargs["slug"], "pk": kwargs["pk"]})

    started = time.monotonic()
    response = client.get(url)
    assert time.monotonic() - started < 20
    assert response.status_code == 413
    assert "too large to make into a PDF" in response.content.decode()

    response = client.get(url, HTTP_REFERER=f"http://testserver{minutes_page}", follow=True)
    assert response.redirect_chain[0] == (f"http://testserver{minutes_page}", 302)
    assert "too large to make into a PDF" in response.content.decode()

    # Someone else's site as the referrer is not where we send people.
    response = client.get(url, HTTP_REFERER="https://evil.example/phish")
    assert response.status_code == 413
