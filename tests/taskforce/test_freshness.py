"""Cached figures (taskforce.freshness): served until anything is written, never across people or from uncommitted data.

transaction=True where it matters: the generation moves when a write *commits*, and pytest-django's ordinary tests
never commit (inside them nothing is cached at all, which the last tests check).
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members import services
from members.models import Membership, MembershipStatus, Role
from taskforce import audit, freshness
from tests.cast import PASSWORD, build_cast


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ('SELECT "members_user"."id" FROM "members_user"', False),
        ('(SELECT "a"."id" FROM "a") UNION (SELECT "b"."id" FROM "b")', False),
        ("SET synchronous_commit = off", False),
        ('SAVEPOINT "s1_x1"', False),
        ("BEGIN", False),  # SQLite's atomic() opens its transactions with a statement
        ('ROLLBACK TO SAVEPOINT "s1_x1"', False),
        ('INSERT INTO "members_membership" ("status") VALUES (%s)', True),
        ('UPDATE "cases_case" SET "status" = %s', True),
        ('DELETE FROM "cases_casegroupobjectpermission" WHERE id = 1', True),
        ('TRUNCATE "cases_case"', True),
        ('INSERT INTO "taskforce_auditevent" ("at") VALUES (%s)', False),
        ('UPDATE "taskforce_notification" SET "sent_at" = %s WHERE "id" = %s', False),
        ('UPDATE "django_session" SET "expire_date" = %s', False),
        ('UPDATE "usersessions_usersession" SET "last_seen_at" = %s', False),  # once a minute per session
        ("WITH moved AS (DELETE FROM cases_case RETURNING id) SELECT count(*) FROM moved", True),
        ("VACUUM ANALYZE", True),  # unknown statements count as writes: stale is worse than recomputed
    ],
)
def test_which_statements_count_as_writes(sql, writes):
    assert freshness._is_write(sql) is writes


@pytest.mark.django_db(transaction=True)
def test_a_committed_write_moves_the_generation_and_a_rollback_or_an_audit_row_does_not():
    start = freshness.generation()
    cast = build_cast()
    assert freshness.generation() > start

    before = freshness.generation()
    audit.record("test.read", actor=cast.admin)
    assert freshness.generation() == before  # the audit trail is not behind any cached figure

    with transaction.atomic():
        Membership.objects.filter(pk=cast.agency_a.pk).update(status=MembershipStatus.WITHDRAWN)
        assert freshness.generation() == before  # not yet: other connections cannot see it
    assert freshness.generation() == before + 1  # committed: once, however many statements

    with pytest.raises(RuntimeError), transaction.atomic():
        Membership.objects.filter(pk=cast.agency_a.pk).update(status=MembershipStatus.ACTIVE)
        raise RuntimeError
    assert freshness.generation() == before + 1  # rolled back: nothing changed


@pytest.mark.redis  # caching needs the shared cache (taskforce.freshness._usable)
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_is_served_from_cache_until_a_write_even_one_that_skips_model_signals(client_for):
    cast = build_cast()
    url = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    liaison = client_for(cast.liaison_a)
    liaison.get(url)  # the session's first writes land here
    freshness.bump()  # as any committed write would: the next view builds the cards afresh
    with CaptureQueriesContext(connection) as first:
        assert "Complete the profile" in liaison.get(url).content.decode()
    with CaptureQueriesContext(connection) as second:
        assert "Complete the profile" in liaison.get(url).content.decode()
    assert len(second.captured_queries) < len(first.captured_queries) - 3  # the cards' queries are not asked

    # A bulk .update() sends no signal; the agency's own card still goes at once (a withdrawn agency has none).
    Membership.objects.filter(pk=cast.agency_a.pk).update(status=MembershipStatus.WITHDRAWN)
    assert "Complete the profile" not in liaison.get(url).content.decode()


@pytest.mark.redis  # caching needs the shared cache (taskforce.freshness._usable)
@pytest.mark.django_db(transaction=True)
def test_a_new_invitation_shows_at_once_and_each_person_gets_their_own_cards(client_for):
    cast = build_cast()
    url = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    coordinator, liaison = client_for(cast.coordinator), client_for(cast.liaison_a)
    assert "Rae Reporter" not in coordinator.get(url).content.decode()
    services.invitation_create(
        membership=cast.agency_b,
        actor=cast.coordinator,
        email="rae@cac.example.org",
        full_name="Rae Reporter",
        role=Role.MEMBER,
    )
    assert "Rae Reporter" in coordinator.get(url).content.decode()
    # Cached for the coordinator now; the liaison is not served the coordinator's cards.
    assert "Invitations awaiting a reply" not in liaison.get(url).content.decode()


def test_nothing_is_cached_while_the_connection_holds_uncommitted_writes(cast, client_for):
    """An ordinary test never commits: what it writes must still show (and never be stored for later)."""
    url = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    liaison = client_for(cast.liaison_a)
    assert "Complete the profile" in liaison.get(url).content.decode()
    Membership.objects.filter(pk=cast.agency_a.pk).update(status=MembershipStatus.WITHDRAWN)
    assert "Complete the profile" not in liaison.get(url).content.decode()
    assert freshness._has_uncommitted_writes(connection)


@pytest.mark.redis  # caching needs the shared cache (taskforce.freshness._usable)
def test_cached_builds_once_per_generation_and_again_after_a_bump(db):
    calls = []

    def build() -> int:
        calls.append(1)
        return len(calls)

    assert freshness.cached("test:key", build) == 1
    assert freshness.cached("test:key", build) == 1
    freshness.bump()
    assert freshness.cached("test:key", build) == 2


@pytest.mark.redis  # caching needs the shared cache (taskforce.freshness._usable)
@pytest.mark.django_db(transaction=True)
def test_revoked_case_permissions_take_the_case_off_a_cached_list_at_once(client_for):
    """Confidentiality does not wait for a cache: the list read before the revocation is not served after it,
    even when the permission rows go in one bulk DELETE (guardian's remove_perm on a queryset, say)."""
    from cases import selectors
    from cases.models import CaseGroupObjectPermission, CaseUserObjectPermission
    from tests.cases.world import build_world

    cast = build_cast()
    world = build_world(cast)
    url = reverse("cases:list", args=[cast.taskforce.slug])
    liaison = client_for(cast.liaison_a)
    assert world.case.number in liaison.get(url).content.decode()
    assert world.case.number in liaison.get(url).content.decode()  # now from the cache
    CaseGroupObjectPermission.objects.filter(content_object=world.case, group__in=cast.liaison_a.groups.all()).delete()
    CaseUserObjectPermission.objects.filter(content_object=world.case, user=cast.liaison_a).delete()
    assert not selectors.visible_cases(cast.liaison_a, cast.taskforce).filter(pk=world.case.pk).exists()
    response = liaison.get(url)
    assert response.status_code == 200
    assert world.case.number not in response.content.decode()


@pytest.mark.redis  # caching needs the shared cache (taskforce.freshness._usable)
@pytest.mark.django_db(transaction=True)
def test_the_live_console_roster_and_agenda_show_each_change_while_served_from_cache(client_for):
    from meetings import services as meeting_services
    from meetings.models import Attendance
    from tests.cases.world import make_meeting

    cast = build_cast()
    meeting = make_meeting(cast)
    run_url = reverse("meetings:run", args=[cast.taskforce.slug, meeting.pk])
    agenda_url = reverse("meetings:detail", args=[cast.taskforce.slug, meeting.pk])
    facilitator = client_for(cast.facilitator)
    facilitator.get(run_url)  # completes the roster (its inserts move the generation on)
    first = facilitator.get(run_url).content.decode()
    assert "Confidentiality acknowledged" not in first
    with CaptureQueriesContext(connection) as again:
        facilitator.get(run_url)
    # From the cache, nothing having been written: neither the roster check nor the roster asks for attendance.
    assert not any('"meetings_attendance"' in query["sql"] for query in again.captured_queries)
    row = Attendance.objects.get(meeting=meeting, person=cast.liaison_a)
    facilitator.post(
        reverse("meetings:attendance", args=[cast.taskforce.slug, meeting.pk]),
        {"attendance": row.pk, "status": "present", "acknowledged": "1"},
    )
    assert "Confidentiality acknowledged" in facilitator.get(run_url).content.decode()

    assert "Funding report" not in facilitator.get(agenda_url).content.decode()
    meeting_services.item_add(
        meeting=meeting,
        actor=cast.facilitator,
        title="Funding report",
        item_type="information_sharing",
        planned_minutes=10,
    )
    assert "Funding report" in facilitator.get(agenda_url).content.decode()
    assert "Funding report" in facilitator.get(run_url).content.decode()


@pytest.mark.redis  # caching needs the shared cache (taskforce.freshness._usable)
@pytest.mark.django_db(transaction=True)
def test_the_mou_status_matrix_shows_a_signature_at_once(client_for):
    from tests.mous.conftest import out_for_signature, sign

    cast = build_cast()
    mou = out_for_signature(cast)
    url = reverse("mous:detail", args=[cast.taskforce.slug, mou.pk])
    coordinator = client_for(cast.coordinator)
    assert "0 of 2 required parties signed" in coordinator.get(url).content.decode()
    assert "0 of 2 required parties signed" in coordinator.get(url).content.decode()  # from the cache
    sign(mou, cast.liaison_a)
    assert "1 of 2 required parties signed" in coordinator.get(url).content.decode()


def test_without_a_shared_cache_nothing_is_cached(db, settings):
    """The embedded default's local-memory cache is per process: a write elsewhere would not reach it."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fresh"}}
    calls = []
    freshness.cached("test:local", lambda: calls.append(1))
    freshness.cached("test:local", lambda: calls.append(1))
    assert len(calls) == 2


def test_a_cached_person_carries_no_password_hash(cast):
    import pickle

    from members.models import User

    restored = pickle.loads(pickle.dumps(User.objects.get(pk=cast.liaison_a.pk)))  # noqa: S301 - our own bytes
    assert "password" not in restored.__dict__ and b"md5$" not in pickle.dumps(cast.liaison_a)
    assert restored.check_password(PASSWORD)  # deferred: read from the database when asked
    restored.full_name = "Larry L."
    restored.save()  # saves what it holds, leaves the hash alone
    assert User.objects.get(pk=cast.liaison_a.pk).check_password(PASSWORD)


@pytest.mark.redis  # caching needs the shared cache (taskforce.freshness._usable)
@pytest.mark.django_db(transaction=True)
def test_the_directory_shows_a_changed_title_at_once(client_for):
    from members.models import User

    cast = build_cast()
    url = reverse("members:directory", args=[cast.taskforce.slug])
    liaison = client_for(cast.liaison_a)
    assert "Lead Investigator" not in liaison.get(url).content.decode()
    with CaptureQueriesContext(connection) as again:
        liaison.get(url)
    assert not any('"members_membership"' in query["sql"] for query in again.captured_queries)  # from the cache
    User.objects.filter(pk=cast.liaison_b.pk).update(title="Lead Investigator")
    assert "Lead Investigator" in liaison.get(url).content.decode()


@pytest.mark.django_db(transaction=True)
def test_reading_pages_writes_nothing_that_counts(client_for):
    """Audited reads, session activity and sign-in bookkeeping must not move the generation, or nothing would
    ever be served from the cache."""
    from tests.cases.world import build_world

    cast = build_cast()
    world = build_world(cast)
    liaison = client_for(cast.liaison_a)
    liaison.get(reverse("taskforce:dashboard", args=[cast.taskforce.slug]))  # the session's first writes
    before = freshness.generation()
    for url in (
        reverse("taskforce:dashboard", args=[cast.taskforce.slug]),
        reverse("cases:detail", args=[cast.taskforce.slug, world.case.pk]),  # an audited read
        reverse("cases:list", args=[cast.taskforce.slug]),
        reverse("members:directory", args=[cast.taskforce.slug]),
    ):
        assert liaison.get(url).status_code == 200
    assert freshness.generation() == before
