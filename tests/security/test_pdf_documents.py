"""PDF rendering: a real document comes out, and it fetches nothing but our own static files."""

from __future__ import annotations

import http.server
import io
import logging
import threading

import pypdf
import pytest

from taskforce.pdf import StaticOnlyFetcher, find_static, pdf_response, render_pdf, static_prefixes

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
