"""What the database holds, per table: row count and a checksum of every row, to tell whether a request wrote.

One query over every model's table (django.apps, including many-to-many tables), so it costs little
enough to take before and after each request. PostgreSQL only: it hashes each row's text form.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connection

TableState = dict[str, tuple[int, str]]


def model_tables() -> list[str]:
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    existing = set(connection.introspection.table_names())
    return sorted(tables & existing)


def table_state() -> TableState:
    """table -> (rows, md5 of the sorted md5s of each row's text), for every model's table."""
    quote = connection.ops.quote_name
    tables = model_tables()
    digest = "coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')"
    # Table names come from the models, quoted; only the labels are parameters.
    parts = [f"SELECT %s, count(*), {digest} FROM {quote(table)} AS t" for table in tables]  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), tables)
        return {table: (count, digest) for table, count, digest in cursor.fetchall()}


def changed_tables(before: TableState, after: TableState, *, ignore: frozenset[str] = frozenset()) -> dict[str, str]:
    """Tables whose rows differ, with how: 'rows 3 -> 4' or 'same count, contents changed'."""
    changes = {}
    for table in sorted(set(before) | set(after)):
        if table in ignore or before.get(table) == after.get(table):
            continue
        (rows_before, _), (rows_after, _) = before.get(table, (0, "")), after.get(table, (0, ""))
        changes[table] = f"rows {rows_before} -> {rows_after}" if rows_before != rows_after else "contents changed"
    return changes
