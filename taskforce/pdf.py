"""Render a template to PDF with WeasyPrint, fetching nothing but our own static files.

A PDF template is as dangerous as the least careful value rendered into it: user text could carry
`<img src="file:///etc/passwd">` or a tracking URL. The fetcher below maps URLs under STATIC_URL to files
found by the staticfiles finders (or in STATIC_ROOT) and refuses everything else - no network, no
`file://` - so a refused resource is simply missing from the PDF. `data:` images are allowed: they carry
their own bytes and reach nothing.
"""

from __future__ import annotations

import logging
import mimetypes
import posixpath
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)


class RefusedURL(ValueError):
    """Raised for a URL the PDF may not load; WeasyPrint logs it and treats the resource as missing."""


class StaticOnlyFetcher(URLFetcher):
    """WeasyPrint 70's fetcher API: subclass URLFetcher and override fetch(url, headers)."""

    def __init__(self, *, static_prefixes: list[str]) -> None:
        # fail_on_errors=False: a refused or missing resource is a warning, not a failed document.
        super().__init__(allowed_protocols=("http", "https", "data"), allow_redirects=False, fail_on_errors=False)
        self.static_prefixes = static_prefixes
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        if url.startswith("data:"):
            # urllib's DataHandler decodes it in memory; no other handler is reachable from here.
            return super().fetch(url, headers)
        path = self._static_path(url)
        if path is None:
            self.refused.append(url)
            logger.warning("PDF: refused to fetch %s", url[:200])
            raise RefusedURL(f"only our static files may be loaded, not {url[:200]}")
        self.served.append(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # URLFetcherResponse closes the file after WeasyPrint has read it.
        return URLFetcherResponse(url, body=path.open("rb"), headers={"Content-Type": content_type})

    def _static_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        bare = f"{parts.scheme}://{parts.netloc}{parts.path}"
        for prefix in self.static_prefixes:
            if bare.startswith(prefix):
                return find_static(unquote(bare[len(prefix) :]))
        return None


def find_static(relative: str) -> Path | None:
    """The file a static path names, from STATIC_ROOT (hashed names) or the finders; None if outside them."""
    normal = posixpath.normpath(relative)
    if not relative or normal.startswith(("/", "..")) or "\\" in relative or "\x00" in relative or normal == ".":
        return None
    candidates = []
    if settings.STATIC_ROOT:
        candidates.append(Path(settings.STATIC_ROOT) / normal)
    found = finders.find(normal)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def static_prefixes(request: HttpRequest | None = None) -> list[str]:
    """The absolute URL prefixes under which a URL means "one of our static files"."""
    static_url = settings.STATIC_URL
    if urlsplit(static_url).scheme:
        return [static_url]
    bases = [settings.SITE_URL + "/"]
    if request is not None:
        # The host has passed ALLOWED_HOSTS; and whatever it is, we only ever read local files.
        bases.append(request.build_absolute_uri("/"))
    return list(dict.fromkeys(urljoin(base, static_url) for base in bases))


def render_pdf(template_name: str, context: dict, *, request: HttpRequest | None = None) -> bytes:
    """Render a Django template (autoescaped as usual) to PDF bytes."""
    html = render_to_string(template_name, context, request=request)
    base_url = request.build_absolute_uri("/") if request is not None else settings.SITE_URL + "/"
    fetcher = StaticOnlyFetcher(static_prefixes=static_prefixes(request))
    return weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()


def pdf_response(pdf_bytes: bytes, filename: str) -> HttpResponse:
    """An attachment download: never rendered inline, never sniffed, never cached by a shared proxy."""
    if not filename.lower().endswith(".pdf"):
        filename += ".pdf"
    response = HttpResponse(pdf_bytes, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Length"] = str(len(pdf_bytes))
    return response
