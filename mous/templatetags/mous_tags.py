from django import template

from mous.rendering import clause_html

register = template.Library()


@register.filter(name="clause_html")
def clause_html_filter(text: str):
    """Markdown rendered and sanitised (see mous.rendering)."""
    return clause_html(text)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
