from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key):
    """Look a key up in a dict built by the view (e.g. roles by person id)."""
    return mapping.get(key, []) if mapping else []
