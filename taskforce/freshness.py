"""Figures cached until the data behind them changes: one counter that every committed write moves on.

Heavy read-only figures (the dashboard's cards: a dozen permission-filtered counts, about three quarters of that
page's time) are cached per person under the current *data generation*. Every statement that writes to the
database, from any process using Django's connections (web, Celery, management commands), moves the generation on
once its transaction commits, so the next request recomputes. Nothing has to remember which write touches which
figure: a grant revoked in bulk, a `.update()` or a raw statement invalidates exactly like a model's save().

Writes to the tables in IGNORED_TABLES do not count: the audit trail (every confidential read writes a row, and
no cached figure reads it), sessions, and the list of a person's sign-in sessions (written once a minute per
active session by taskforce.middleware.UserSessionActivityMiddleware: counted, a busy site would never hit). The notification sweep's marks are ignored too: no cached figure reads
the notification rows, and a sweep marks thousands a minute.

Rules that keep this correct:
- A generation is read before the figures are computed, so a write committed while they are being computed
  moves the counter past the key they are stored under: they are recomputed on the next request.
- A connection with uncommitted writes neither reads nor stores cached figures: it sees data that may never
  commit (and other connections cannot see it yet).
- Entries live CACHE_SECONDS at most, which bounds staleness where no write is involved (a meeting's start time
  passing) and where a bump was lost (Redis down at that moment: the fallback cache takes it, see
  taskforce.cache). While Redis is unreachable nothing is cached or served from cache, and without Redis (the
  embedded default's per-process cache) nothing is cached at all: another process's write would not reach it.
- Keys name everything the value depends on besides the data: the person where it is theirs, the language
  where it holds translated text. Permission checks stay outside: a view checks access on every request, then
  reads the cached figures.
- Never cache case content (the cases app's encrypted fields, decrypted): the cache is not encrypted at rest.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

CACHE_SECONDS = 60
IGNORED_TABLES = frozenset(
    {"taskforce_auditevent", "django_session", "usersessions_usersession", "taskforce_notification"}
)
# Statements that change no data (reads, settings, transaction control): anything else counts as a write
# (unknown means changed). A transaction's own writes are what its commit announces.
_READS = frozenset(
    {"SELECT", "(SELECT", "WITH", "SET", "RESET", "SHOW", "EXPLAIN", "PRAGMA"}
    | {"BEGIN", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE"}
)
# Where a writing statement names its table: INSERT INTO "t", UPDATE "t", DELETE FROM "t".
_TABLE_WORD = {"INSERT": 2, "UPDATE": 1, "DELETE": 2}


def _namespace() -> str:
    # Per database: two sites (or the test suite and a dev server) sharing one Redis never share entries.
    return f"freshness:{transaction.get_connection().settings_dict['NAME']}"


def _generation_key() -> str:
    return f"{_namespace()}:generation"


def generation() -> int:
    key = _generation_key()
    value = cache.get(key)
    if value is None:
        # A random start (not 0): after Redis loses the key, no entry stored under an old number can match.
        cache.add(key, secrets.randbits(62), timeout=None)
        value = cache.get(key)
    return int(value or 0)


def bump() -> None:
    key = _generation_key()
    try:
        cache.incr(key)
    except ValueError:  # no key yet (or evicted): any new number invalidates every entry
        cache.set(key, secrets.randbits(62), timeout=None)


def _is_write(sql: str) -> bool:
    words = sql[:200].lstrip().split(None, 3)  # the statement's head only: it runs on every query
    if not words:
        return False
    verb = words[0].upper()
    if verb in _READS:
        # WITH ... is a read unless its main statement writes (Django does not emit writable CTEs; raw SQL might).
        return verb == "WITH" and any(word in sql.upper() for word in ("INSERT ", "UPDATE ", "DELETE "))
    position = _TABLE_WORD.get(verb)
    if position is not None and len(words) > position:
        return words[position].strip('"') not in IGNORED_TABLES
    return True


def _has_uncommitted_writes(connection: BaseDatabaseWrapper) -> bool:
    return connection.in_atomic_block and any(entry[1] is bump for entry in connection.run_on_commit)


def _track_writes(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
    result = execute(sql, params, many, context)
    if _is_write(sql):
        connection = context["connection"]
        if not connection.in_atomic_block:
            bump()  # autocommit: already committed
        elif not _has_uncommitted_writes(connection):
            # Once per transaction; Django drops it on rollback (nothing to announce) and runs it on commit.
            connection.on_commit(bump, robust=True)
    return result


def install(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver (taskforce.apps): every connection reports its writes."""
    if _track_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_track_writes)


def _usable() -> bool:
    # Only a cache every process shares (Redis): with a per-process one (the embedded default's local memory), a
    # write in one process (a management command, a second server) would not reach the others' counters.
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache) or _has_uncommitted_writes(transaction.get_connection()):
        return False
    degraded = getattr(backend, "degraded", None)
    return not (degraded and degraded())


def cached[T](key: str, build: Callable[[], T]) -> T:
    """build(), or its value from the cache if nothing was written since it was built (see the module).

    The entry keeps the generation it was built under, so the generation and the entry come back in one round trip
    (get_many); an entry of any other generation is stale.
    """
    if not _usable():
        return build()
    if len(key) > 200:  # an agenda's item list, say: keys stay short for any cache backend
        key = hashlib.sha256(key.encode()).hexdigest()
    generation_key, entry_key = _generation_key(), f"{_namespace()}:entry:{key}"
    found = cache.get_many([generation_key, entry_key])
    current = found.get(generation_key)
    if current is None:
        current = generation()
    entry = found.get(entry_key)
    if entry is not None and entry[0] == current:
        return entry[1]
    value = build()
    cache.set(entry_key, (current, value), CACHE_SECONDS)
    return value


def page_of(number: int, count: int, per_page: int) -> Page:
    """The Page a list's pagination shows, for rows cached as HTML: its number and the total, without the rows."""
    paginator = Paginator([], per_page)
    paginator.count = count  # a cached_property: what Paginator would count
    return Page([], number, paginator)
