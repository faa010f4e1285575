from django import template

register = template.Library()


@register.filter
def mmss(seconds: int | None) -> str:
    """Seconds as m:ss, with a minus sign when negative (over time)."""
    seconds = int(seconds or 0)
    sign = "-" if seconds < 0 else ""
    minutes, rest = divmod(abs(seconds), 60)
    return f"{sign}{minutes}:{rest:02d}"


@register.simple_tag
def with_total(rows) -> int:
    return sum(row.get("actual", 0) for row in rows)


@register.filter
def isodate(value: str | None):
    """An ISO date string from a sealed record, as a date for the `date` filter."""
    from datetime import date

    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
