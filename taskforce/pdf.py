"""Render a template to PDF with WeasyPrint, fetching nothing but our own static files.

A PDF template is as dangerous as the least careful value rendered into it: user text could carry
`<img src="file:///etc/passwd">` or a tracking URL. The fetcher below maps URLs under STATIC_URL to files
found by the staticfiles finders (or in STATIC_ROOT) and refuses everything else - no network, no
`file://` - so a refused resource is simply missing from the PDF. `data:` images are allowed: they carry
their own bytes and reach nothing.
"""

from __future__ import annotations

import gc
import logging
import mimetypes
import os
import pickle
import posixpath
import re
import resource
import select
import signal
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import weasyprint
from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
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
            self.refused.append(url)  # logged by render_pdf, in the parent process
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


class DocumentTooLarge(Exception):
    """The document is too big, too deep or too slow to lay out; str() is a message for the person."""


# Generous for our real documents (a 300-agency directory is ~0.4 MB and ~15,000 elements).
DEFAULT_MAX_HTML_CHARS = 3_000_000
DEFAULT_MAX_ELEMENTS = 60_000
DEFAULT_MAX_DEPTH = 200
DEFAULT_RENDER_TIMEOUT = 25.0  # under gunicorn's default 30 s worker timeout
DEFAULT_RENDER_MEMORY_MB = 1024
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")
_TAG = re.compile(r"<[A-Za-z]")
_TAG_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")
# Elements that never nest (void) or whose end tag may be left out: neither adds depth we could measure.
_FLAT = frozenset("area base br col embed hr img input link meta source track wbr p li dt dd tr td th option".split())


def _too_large() -> DocumentTooLarge:
    return DocumentTooLarge(
        _("This document is too large to make into a PDF. Shorten the longest texts, or split it, and try again.")
    )


def check_size(html: str) -> None:
    """Refuse before layout what no reader needs and any worker would choke on."""
    if len(html) > getattr(settings, "PDF_MAX_HTML_CHARS", DEFAULT_MAX_HTML_CHARS):
        raise _too_large()
    if len(_TAG.findall(html)) > getattr(settings, "PDF_MAX_ELEMENTS", DEFAULT_MAX_ELEMENTS):
        raise _too_large()
    # Layout recurses once per level: thousands of nested elements end in RecursionError after a long wait.
    max_depth = getattr(settings, "PDF_MAX_DEPTH", DEFAULT_MAX_DEPTH)
    depth = 0
    for match in _TAG_TOKEN.finditer(html):
        closing, name, self_closing = match.groups()
        if name.lower() in _FLAT or self_closing:
            continue
        depth = max(depth - 1, 0) if closing else depth + 1
        if depth > max_depth:
            raise _too_large()


def _inert(document: weasyprint.Document) -> None:
    """Drop what would make the PDF do or carry anything beyond its pages."""
    document.metadata.attachments = []
    for page in document.pages:
        page.links = [
            link
            for link in page.links
            if link[0] == "internal" or (link[0] == "external" and str(link[1]).lower().startswith(SAFE_LINK_SCHEMES))
        ]


def _write_pdf(html: str, base_url: str, prefixes: list[str]) -> tuple[bytes, list[str]]:
    fetcher = StaticOnlyFetcher(static_prefixes=prefixes)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()
    _inert(document)
    return document.write_pdf(), fetcher.refused


def _render_in_child(html: str, base_url: str, prefixes: list[str]) -> tuple[bytes, list[str]]:
    """Lay the document out in a forked child under a memory ceiling and a deadline."""
    timeout = float(getattr(settings, "PDF_RENDER_TIMEOUT", DEFAULT_RENDER_TIMEOUT))
    memory = int(getattr(settings, "PDF_RENDER_MEMORY_MB", DEFAULT_RENDER_MEMORY_MB)) * 1024 * 1024
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python warns when a threaded process forks: a lock held by another thread at that moment would
        # stay held in the child. The child only lays out HTML, and the deadline below ends it if it hangs.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's exit handlers (DB connections!)
        code = 1
        # A collection would touch every object the worker holds, copying its pages (copy-on-write) for
        # nothing: the child lives for one document and the memory ceiling bounds what it keeps.
        gc.disable()
        try:
            os.close(read_end)
            _limit_memory(memory)
            out_of_memory = _MemoryErrorLogged()
            logging.getLogger("weasyprint").addHandler(out_of_memory)
            result: object = _write_pdf(html, base_url, prefixes)
            if out_of_memory.seen:
                result = MemoryError()
        except (MemoryError, RecursionError):
            result = MemoryError()
        except BaseException as error:  # noqa: BLE001 - reported to the parent, which re-raises
            result = RuntimeError(f"{type(error).__name__}: {error}")
        try:
            with os.fdopen(write_end, "wb") as out:
                out.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            code = 0
        finally:
            os._exit(code)

    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _w, _x = select.select([read_end], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    if timed_out:
        logger.warning("PDF: layout took longer than %ss; stopped", timeout)
        raise _too_large()
    if not chunks:  # killed by the kernel (memory) or died without a word
        logger.warning("PDF: the rendering process ended without a result")
        raise _too_large()
    result = pickle.loads(b"".join(chunks))  # noqa: S301 - our own child's bytes, through a private pipe
    if isinstance(result, MemoryError):
        logger.warning("PDF: layout needed more than %s MB; stopped", memory // (1024 * 1024))
        raise _too_large()
    if isinstance(result, BaseException):
        raise result
    return result


class _MemoryErrorLogged(logging.Handler):
    """Notices WeasyPrint logging a MemoryError away: it turns a failed image load (MemoryError included)
    into a log line and a missing image. In the child that means the memory ceiling was hit, and the
    document is refused rather than printed without the image."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        for arg in record.args if isinstance(record.args, tuple) else ():
            error = arg if isinstance(arg, BaseException) else None
            while error is not None:
                if isinstance(error, MemoryError):
                    self.seen = True
                    return
                error = error.__cause__ or error.__context__


def _limit_memory(extra_bytes: int) -> None:
    """Cap the child's address space at what the worker already maps plus `extra_bytes`."""
    with open("/proc/self/status") as status:
        mapped = next((int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:")), 0)
    if mapped:
        ceiling = mapped + extra_bytes
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))


def render_pdf(template_name: str, context: dict, *, request: HttpRequest | None = None) -> bytes:
    """Render a Django template (autoescaped as usual) to PDF bytes; DocumentTooLarge if it cannot be."""
    html = render_to_string(template_name, context, request=request)
    check_size(html)
    base_url = request.build_absolute_uri("/") if request is not None else settings.SITE_URL + "/"
    pdf, refused = _render_in_child(html, base_url, static_prefixes(request))
    for url in refused:  # the child's log lines are lost with it; say here what was kept out
        logger.warning("PDF: refused to fetch %s", url[:200])
    return pdf


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


class DocumentTooLargeMiddleware:
    """A PDF that cannot be made is a message on the page the person came from, not a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DocumentTooLarge):
            return None
        referer = request.headers.get("Referer", "")
        if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            messages.error(request, str(exception))
            return HttpResponseRedirect(referer)
        return render(request, "pdf_too_large.html", {"message": str(exception)}, status=413)
