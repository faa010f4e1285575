"""The XSS corpus and the mechanical checks every rendered page must pass (issue #9, injection).

Each payload sets `window.__xss` or opens a dialog if it ever runs, so the browser test can tell; the
HTML checks below parse the page (Python's html.parser, as a browser would tokenise it) rather than
looking for substrings, so an escaped payload shown as text passes and a live one fails.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pypdf

# Short enough that the shorter CharFields (names, titles) hold several per round. Grouped by the context
# they try to break out of; every one would run script or smuggle behaviour if it reached markup.
XSS_PAYLOADS: tuple[str, ...] = (
    "<script>window.__xss=1</script>",
    "<img src=x onerror=window.__xss=2>",
    '"><svg onload=window.__xss=3>',
    "'><img src=x onerror=alert(4)>",
    "</textarea><script>alert(5)</script>",
    "</title><script>alert(6)</script>",
    "<svg><script>alert(7)</script></svg>",
    '<iframe srcdoc="<script>alert(8)</script>">',
    '<a href="javascript:alert(9)">x</a>',
    "[md](javascript:alert(10))",
    "<javascript:alert(11)>",
    "[d](data:text/html,<script>alert(12)</script>)",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxMyk8L3NjcmlwdD4=">d</a>',
    '<div hx-get="/logout" hx-trigger="load">h</div>',
    '<b hx-on:click="alert(15)">h</b>',
    '<p data-hx-post="/x" data-hx-trigger="load">h</p>',
    "{{ 7*7 }}{% now 'Y' %}",
    '<p style="x:expression(alert(17))">e</p>',
    '<p style="background:url(javascript:alert(18))">u</p>',
    "<IMG SRC=JaVaScRiPt:alert(19)>",
    "<img src=x onerror&#61;alert(20)>",
    "&lt;script&gt;alert(21)&lt;/script&gt;",
    "\uff1cscript\uff1ealert(22)\uff1c/script\uff1e %3Cscript%3Ealert(22)%3C/script%3E",
    "<scr<script>ipt>alert(23)</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(24)>",
    "<object data=javascript:alert(25)>",
    "<embed src=javascript:alert(26)>",
    "<form action=javascript:alert(27)><button>f</button></form>",
    "<base href=//evil.example/>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(30)>",
    "<link rel=attachment href=file:///etc/passwd>",
    '<details open ontoggle="alert(32)">',
    "javascript:alert(33)",
    "\r\nBcc: victim@evil.example",
)

# A benign value of the same kinds (punctuation, a link, two paragraphs), for the pages to compare with.
BENIGN = "Plain note about the referral protocol.\n\nSee [the site](https://example.org) & ask Jo."

URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background"})
BAD_SCHEMES = re.compile(r"^\s*(javascript|data|vbscript)\s*:", re.IGNORECASE)
# The scripts the templates themselves load: our static files.
OUR_SCRIPT = re.compile(r"^/static/")


@dataclass
class PageScan:
    """What an HTML page would make a browser do beyond showing text."""

    problems: list[str] = field(default_factory=list)
    htmx: Counter = field(default_factory=Counter)  # (tag, hx attribute) -> how many
    nonces: set[str] = field(default_factory=set)  # on our own <script> tags
    text: list[str] = field(default_factory=list)


class _Scanner(HTMLParser):
    def __init__(self, scan: PageScan) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = scan
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        problems = self.scan.problems
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            src = values.get("src", "")
            json_data = values.get("type", "") == "application/json"
            # Same-origin static files run under script-src 'self' (allauth's own carry no nonce); any
            # other script, inline above all, is not ours.
            if not json_data and not OUR_SCRIPT.match(src):
                problems.append(f"<script {values}>")
            if values.get("nonce"):
                self.scan.nonces.add(values["nonce"])
            self.in_script = True
        if tag in {"iframe", "object", "embed", "frame", "frameset", "base", "applet"}:
            problems.append(f"<{tag}> element")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            problems.append("<meta http-equiv=refresh>")
        if tag == "link" and values.get("rel", "").lower() not in {"stylesheet", "icon", "manifest", "preload"}:
            problems.append(f"<link rel={values.get('rel')!r}>")
        for name, value in values.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=...>")
            if name == "srcdoc":
                problems.append(f"<{tag} srcdoc>")
            if name in URL_ATTRIBUTES and BAD_SCHEMES.match(value) and not _pixel(tag, name, value):
                problems.append(f"<{tag} {name}={value[:60]!r}>")
            if name == "style" and re.search(r"expression\s*\(|javascript:|url\s*\(", value, re.IGNORECASE):
                problems.append(f"<{tag} style={value[:60]!r}>")
            if name.startswith(("hx-", "data-hx-")):
                self.scan.htmx[(tag, name)] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if not self.in_script:
            self.scan.text.append(data)


def _pixel(tag: str, name: str, value: str) -> bool:
    # Our own templates may inline images as data: URLs (img-src allows data:); never a document.
    return tag == "img" and name == "src" and value.startswith("data:image/")


def scan_html(body: str) -> PageScan:
    scan = PageScan()
    _Scanner(scan).feed(body)
    return scan


def extra_htmx(payload_page: PageScan, benign_page: PageScan) -> Counter:
    """hx-* attributes the payload page has beyond those of the same page with benign values."""
    return payload_page.htmx - benign_page.htmx


def pdf_problems(body: bytes) -> tuple[list[str], str]:
    """Active content in a PDF (JavaScript, actions, attachments, non-http links), and its text."""
    reader = pypdf.PdfReader(io.BytesIO(body))
    problems = []
    root = reader.trailer["/Root"]
    names = root.get("/Names", {})
    for key in ("/JavaScript", "/EmbeddedFiles"):
        if key in names:
            problems.append(f"catalog /Names {key}")
    for key in ("/OpenAction", "/AA", "/AcroForm"):
        if key in root:
            problems.append(f"catalog {key}")
    for number, page in enumerate(reader.pages, 1):
        if "/AA" in page:
            problems.append(f"page {number} /AA")
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            subtype = annot.get("/Subtype")
            if subtype == "/FileAttachment":
                problems.append(f"page {number} file attachment")
            action = annot.get("/A")
            if action is None:
                continue
            action = action.get_object()
            kind = action.get("/S")
            uri = str(action.get("/URI", ""))
            if kind != "/URI" or not uri.lower().startswith(("http://", "https://", "mailto:")):
                problems.append(f"page {number} link {kind} {uri[:60]!r}")
    text = "\n".join(page.extract_text() for page in reader.pages)
    return problems, text


def csp_problems(header: str, page_nonces: set[str] | None = None) -> list[str]:
    """What keeps a Content-Security-Policy from being strict: scripts only from us with the request's
    nonce, no inline or eval, no plugins, no <base> hijack, no framing."""
    if not header:
        return ["no Content-Security-Policy header"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    problems = []
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        problems.append("no script-src")
        scripts = []
    for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        if bad in scripts:
            problems.append(f"script-src allows {bad}")
    nonces = {word[len("'nonce-") : -1] for word in scripts if word.startswith("'nonce-")}
    # Django sends a nonce only when the page used one (a bare 404 has no scripts to allow).
    if directives.get("object-src") != ["'none'"]:
        problems.append(f"object-src {directives.get('object-src')}")
    if directives.get("base-uri") not in (["'none'"], ["'self'"]):
        problems.append(f"base-uri {directives.get('base-uri')}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors {directives.get('frame-ancestors')}")
    if page_nonces and not (nonces and page_nonces <= nonces):
        problems.append("the page's script nonces are not the header's")
    return problems
