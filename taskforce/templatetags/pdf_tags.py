"""Rich text for documents: Markdown or HTML written by people, made safe with nh3.

Plain user text needs none of this (templates autoescape it). Use these where a field is meant to carry
formatting, e.g. `{{ minutes.summary|markdown }}`.
"""

import markdown as markdown_lib
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Document formatting only: no images, styles, scripts, forms or frames (a PDF's resources come from
# our static files alone, and a web page must not gain markup from a field).
RICH_TEXT_TAGS = {
    "a", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "ins", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
RICH_TEXT_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


@register.filter(is_safe=True)
def sanitize_html(value) -> SafeString:
    """Keep document formatting, drop everything else (links only to http(s) and mailto)."""
    cleaned = nh3.clean(
        str(value or ""),
        tags=RICH_TEXT_TAGS,
        attributes=RICH_TEXT_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308  (nh3 just sanitised it)


@register.filter(is_safe=True)
def markdown(value) -> SafeString:
    """Markdown to sanitised HTML. Raw HTML in the source is sanitised like everything else."""
    return sanitize_html(markdown_lib.markdown(str(value or ""), extensions=["tables", "sane_lists"]))
