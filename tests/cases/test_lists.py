"""Case lists: one permission-filtered query, a constant number of queries whatever the page size,
filters and search that never reveal a case you cannot see."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases import services
from cases.models import Level
from tests.cases.world import make_case


@pytest.fixture
def many(cast):
    cases = [make_case(cast, number=f"N-{i:03}", lead=cast.agency_a, actor=cast.liaison_a) for i in range(60)]
    hidden = make_case(cast, number="HIDDEN-1", lead=cast.agency_a, actor=cast.liaison_a, confidentiality="restricted")
    return cases, hidden


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("name", ["cases:list", "cases:mine"])
def test_the_number_of_queries_does_not_grow_with_the_page_size(name, cast, many, client_for):
    client = client_for(cast.liaison_a)
    base = reverse(name, kwargs={"slug": cast.taskforce.slug})
    client.get(base)  # warm caches (content types, the session) so only the page's own queries differ
    counts = {size: count_queries(client, f"{base}?per_page={size}")[0] for size in (25, 50, 100)}
    assert len(set(counts.values())) == 1, counts
    _n, response = count_queries(client, f"{base}?per_page=100")
    assert response.content.decode().count("N-0") == 60


def test_a_list_shows_only_what_the_person_may_see(cast, many, client_for):
    _cases, hidden = many
    url = reverse("cases:list", kwargs={"slug": cast.taskforce.slug})
    # Social Services is involved in the standard cases (summary), not in the restricted one.
    body = client_for(cast.coordinator).get(url + "?per_page=100").content.decode()
    assert "N-001" in body and "HIDDEN-1" not in body
    assert "61 cases" not in body and "60 cases" in body
    assert "No cases to show" in client_for(cast.admin).get(url).content.decode()


def test_search_only_finds_visible_cases_and_never_the_narrative(cast, many, client_for):
    _cases, hidden = many
    url = reverse("cases:list", kwargs={"slug": cast.taskforce.slug})
    client = client_for(cast.coordinator)
    assert "HIDDEN-1" not in client.get(url, {"q": "HIDDEN"}).content.decode()
    assert "N-001" not in client.get(url, {"q": "bus station"}).content.decode()  # words of the summary
    assert "HIDDEN-1" in client_for(cast.liaison_a).get(url, {"q": "HIDDEN"}).content.decode()


def test_filters_and_the_htmx_partial(cast, many, client_for):
    cases, _hidden = many
    services.case_update(case=cases[0], actor=cast.liaison_a, expected_version=1, status="closed")
    url = reverse("cases:list", kwargs={"slug": cast.taskforce.slug})
    response = client_for(cast.liaison_a).get(url, {"status": "closed"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "N-000" in body and "N-001" not in body
    assert "<html" not in body  # the partial only


def test_my_cases_are_those_of_my_agency_and_those_shared_with_me(cast, many, client_for):
    case = make_case(cast, number="CAC-9", lead=cast.agency_b, actor=cast.liaison_b, confidentiality="restricted")
    url = reverse("cases:mine", kwargs={"slug": cast.taskforce.slug})
    assert "CAC-9" not in client_for(cast.coordinator).get(url).content.decode()
    services.grant_create(
        case=case, actor=cast.liaison_b, level=Level.SUMMARY, justification="x", person=cast.coordinator
    )
    assert "CAC-9" in client_for(cast.coordinator).get(url).content.decode()


def test_the_dashboard_card_counts_only_visible_cases(cast, many, client_for):
    dashboard = reverse("taskforce:dashboard", kwargs={"slug": cast.taskforce.slug})
    assert "cases you can see" not in client_for(cast.admin).get(dashboard).content.decode()
    body = client_for(cast.coordinator).get(dashboard).content.decode()
    assert "cases you can see" in body and ">60<" in body


def test_the_due_follow_ups_and_agency_filters(cast, world, client_for):
    url = reverse("cases:list", kwargs={"slug": cast.taskforce.slug})
    other = make_case(cast, number="LE-DUE", lead=cast.agency_a, actor=cast.liaison_a)
    client = client_for(cast.liaison_a)
    due = client.get(url, {"due": "on"}).content.decode()
    assert "2026-001" in due and "LE-DUE" not in due  # the world's follow-up is due in three days
    by_agency = client.get(url, {"agency": cast.agency_b.pk}).content.decode()
    assert "2026-001" in by_agency and other.number not in by_agency
    numbers = client.get(url, {"sort": "number"}).content.decode()
    assert numbers.index("2026-001") < numbers.index("LE-DUE")


def test_adding_an_involved_agency_lets_it_know_the_case_exists(cast, client_for):
    case = make_case(cast, number="LE-INV", lead=cast.agency_a, actor=cast.liaison_a, involved=[])
    detail = reverse("cases:detail", kwargs={"slug": cast.taskforce.slug, "pk": case.pk})
    assert client_for(cast.member_b).get(detail).status_code == 404
    client_for(cast.liaison_a).post(
        reverse("cases:agencies", kwargs={"slug": cast.taskforce.slug, "pk": case.pk}),
        {"membership": cast.agency_b.pk, "contact": cast.liaison_b.pk, "role": "Advocacy"},
    )
    assert client_for(cast.member_b).get(detail).status_code == 200


def test_the_due_filter_says_nothing_to_summary_viewers(cast, world, client_for):
    url = reverse("cases:list", kwargs={"slug": cast.taskforce.slug})
    assert "2026-001" not in client_for(cast.coordinator).get(url, {"due": "on"}).content.decode()


def test_the_agency_filter_lists_the_task_forces_agencies_as_they_change(cast, client_for):
    from tests.cast import onboard

    url = reverse("cases:list", kwargs={"slug": cast.taskforce.slug})
    client = client_for(cast.liaison_a)
    body = client.get(url).content.decode()  # the options are cached from here on
    assert f'<option value="{cast.agency_b.pk}">' in body and "Harbor Pride Outreach" not in body
    membership, _person = onboard(
        cast.taskforce,
        actor=cast.admin,
        name="Harbor Pride Outreach",
        sector="ngo",
        liaison=("hp@x.example.org", "H P"),
    )
    agency = cast.agency_b.agency
    agency.name = "Renamed <Agency>"
    agency.save()
    body = client.get(url, {"agency": membership.pk}).content.decode()
    assert f'<option value="{membership.pk}" selected>Harbor Pride Outreach</option>' in body
    assert "Renamed &lt;Agency&gt;" in body  # escaped, and no longer the old name


def test_pages_count_every_visible_case_and_a_page_past_the_end_shows_the_last(cast, many, client_for):
    url = reverse("cases:list", kwargs={"slug": cast.taskforce.slug})
    client = client_for(cast.liaison_a)  # sees the 60 and the restricted one
    for page, rows in (("1", 25), ("3", 11), ("9", 11), ("x", 25)):
        body = client.get(url, {"page": page, "sort": "number"}).content.decode()
        assert "61 cases" in body and body.count('<th scope="row">') == rows, page
    assert "Page 3 of 3" in client.get(url, {"page": "9"}).content.decode()


def test_the_rows_escape_what_people_typed_and_link_each_case(cast, client_for):
    """The rows are built as strings in cases.views._case_rows: every value there is escaped."""
    case = make_case(
        cast,
        number="<b>N-1</b>",
        label='<script>alert("x")</script>',
        lead=cast.agency_a,
        actor=cast.liaison_a,
        confidentiality="restricted",
    )
    url = reverse("cases:mine", kwargs={"slug": cast.taskforce.slug})
    body = client_for(cast.liaison_a).get(url).content.decode()
    assert "<script>alert" not in body and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert (
        f'href="{reverse("cases:list", kwargs={"slug": cast.taskforce.slug})}{case.pk}/">&lt;b&gt;N-1&lt;/b&gt;</a>'
        in body
    )
    assert 'class="badge badge-conf-restricted">Restricted</span>' in body


@pytest.mark.parametrize("query", ["", "?q=nothing-matches"])
def test_open_a_case_is_offered_to_the_members_agencies_with_or_without_rows(query, cast, many, client_for):
    """can_create is read in the page's own query when it has rows, and on its own when it has none."""
    url = reverse("cases:mine", kwargs={"slug": cast.taskforce.slug}) + query
    create = reverse("cases:create", kwargs={"slug": cast.taskforce.slug})
    assert f'href="{create}"' in client_for(cast.liaison_a).get(url).content.decode()
    assert f'href="{create}"' not in client_for(cast.admin).get(url).content.decode()
