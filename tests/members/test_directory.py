"""The directory, its CSV and PDF exports, and the sector-coverage view."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from members import services
from taskforce.models import AuditEvent
from tests.cast import onboard

pytestmark = pytest.mark.django_db


def test_it_lists_agencies_people_and_roles(cast, client_for):
    response = client_for(cast.member_b).get(reverse("members:directory", args=[cast.taskforce.slug]))
    body = response.content.decode()
    assert response.status_code == 200
    for name in ("Sheriff&#x27;s Office", "Child Advocacy Center", "Social Services", "Larry Liaison", "Mia Member"):
        assert name in body
    assert "Lake County Sheriff" not in body  # another task force's agency
    assert "Coordinator" in body


def test_it_filters_by_sector_level_status_and_search(cast, client_for):
    client = client_for(cast.coordinator)
    url = reverse("members:directory", args=[cast.taskforce.slug])
    by_sector = client.get(url, {"sector": "ngo"}).content.decode()
    assert "Child Advocacy Center" in by_sector and "Sheriff" not in by_sector
    by_level = client.get(url, {"level": "county"}).content.decode()
    assert "Sheriff" in by_level and "Child Advocacy Center" not in by_level
    by_person = client.get(url, {"q": "Mia"}).content.decode()
    assert "Child Advocacy Center" in by_person and "Social Services" not in by_person
    services.membership_withdraw(membership=cast.agency_a, actor=cast.coordinator)
    withdrawn = client.get(url, {"status": "withdrawn"}).content.decode()
    assert "Sheriff" in withdrawn and "Child Advocacy Center" not in withdrawn


def test_htmx_requests_get_only_the_table(cast, client_for):
    response = client_for(cast.coordinator).get(
        reverse("members:directory", args=[cast.taskforce.slug]), {"q": "Larry"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" not in body and "Larry Liaison" in body


def test_the_directory_runs_a_constant_number_of_queries(cast, client_for):
    client = client_for(cast.coordinator)
    url = reverse("members:directory", args=[cast.taskforce.slug])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for n in range(8):
        onboard(
            cast.taskforce,
            actor=cast.admin,
            name=f"Agency {n}",
            sector="media",
            liaison=(f"p{n}@x.example.org", f"P {n}"),
        )
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)


def test_csv_export_has_one_row_per_person_and_neutralises_formulas(cast, client_for):
    services.person_update(person=cast.member_b, actor=cast.member_b, title='=HYPERLINK("http://evil")')
    response = client_for(cast.coordinator).get(reverse("members:directory_csv", args=[cast.taskforce.slug]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    people = {row["Person"] for row in rows}
    assert {"Larry Liaison", "Bea Liaison", "Mia Member", "Fred Facilitator", "Alice Coordinator"} <= people
    assert "Oscar Outsider" not in people
    mia = next(row for row in rows if row["Person"] == "Mia Member")
    assert mia["Title"].startswith("'=")
    assert mia["Agency"] == "Child Advocacy Center" and mia["Sector"] == "Nongovernmental social service and advocacy"
    assert AuditEvent.objects.filter(action="directory.exported", actor=cast.coordinator).exists()


def test_the_directory_pdf_lists_active_agencies(cast, client_for):
    response = client_for(cast.member_b).get(reverse("members:directory_pdf", args=[cast.taskforce.slug]))
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages).split())
    assert "Member directory" in text and "Harbor Task Force" in text
    assert "Child Advocacy Center" in text and "larry@sheriff.example.org" in text
    assert "Lake County" not in text


def test_sector_coverage_shows_covered_missing_and_no_liaison(cast, client_for):
    services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        agency_fields={"name": "Harbor Radio", "sector": "media"},
        liaison_email="r@radio.example.org",
        liaison_name="Rae",
    )
    response = client_for(cast.member_b).get(reverse("members:sectors", args=[cast.taskforce.slug]))
    rows = {row.sector: row.state for row in response.context["rows"]}
    assert len(rows) == 20
    assert rows["law_enforcement"] == "covered" and rows["ngo"] == "covered"
    assert rows["media"] == "no_liaison"
    assert rows["judiciary"] == "missing"
    assert response.context["counts"] == {"covered": 3, "no_liaison": 1, "missing": 16}


def test_the_directory_is_paged_by_agency(cast, client_for, monkeypatch):
    from members import views

    monkeypatch.setattr(views, "DIRECTORY_PAGE_SIZE", 2)
    url = reverse("members:directory", args=[cast.taskforce.slug])
    client = client_for(cast.member_b)
    first, second = client.get(url).content.decode(), client.get(url, {"page": 2}).content.decode()
    assert "Page 1 of" in first and "Page 2 of" in second
    assert "Child Advocacy Center" in first + second and "Sheriff&#x27;s Office" in first + second
    assert ("Larry Liaison" in first) != ("Larry Liaison" in second)  # each agency's people on its own page


def test_the_directory_escapes_what_people_wrote_about_themselves(cast, client_for):
    cast.liaison_b.title = '<script>alert("t")</script>'
    cast.liaison_b.full_name = "Lee <b>Bold</b> & Co"
    cast.liaison_b.save()
    body = client_for(cast.member_b).get(reverse("members:directory", args=[cast.taskforce.slug])).content.decode()
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in body and "<script>alert" not in body
    assert "Lee &lt;b&gt;Bold&lt;/b&gt; &amp; Co" in body
