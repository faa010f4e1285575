"""In real browsers: the CAC's liaison opens a case, records the guardian's release naming the Sheriff's
Office and shares the full case with it under that release, then puts it on the next case review. In the
meeting, the Sheriff's liaison sees the case and records the review; the coordinator, who has no access,
sees the item only as restricted and nothing of the case. The restricted minutes record the review (its
content stays in the encrypted case file); the general minutes do not mention it.

Screenshots of each step go to /tmp/cases-*.png, for looking at when something fails.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from cases.models import Case
from meetings import services as meetings
from meetings.models import Meeting
from taskforce.models import AuditEvent
from tests.browser import label, signed_in_page
from tests.cases.world import make_meeting
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = str(Path(tempfile.gettempdir()) / "cases-{}.png")
NARRATIVE = "Recruited through a gaming chat; met the buyer at the Harbor Inn."


def test_a_case_shared_under_a_release_is_reviewed_in_a_meeting(browser_settings, live_server, browser: Browser):
    cast = build_cast()
    meeting = make_meeting(cast)
    base = live_server.url
    slug = cast.taskforce.slug

    # Bea, the CAC's liaison, opens the case: only her agency sees it.
    bea = signed_in_page(browser, base, cast.liaison_b.email)
    bea.goto(f"{base}/tf/{slug}/cases/")
    bea.get_by_role("link", name="Open a case").click()
    bea.get_by_label(label("Case number")).fill("CAC-2026-014")
    bea.get_by_label(label("Pseudonymous label")).fill("M.R.")
    bea.get_by_label(label("Age band")).select_option("15_17")
    bea.get_by_label(label("Trafficking type")).select_option("sex")
    bea.get_by_label("Repeated runaway / missing").check()
    bea.get_by_label(label("Summary")).fill(NARRATIVE)
    bea.screenshot(path=SHOTS.format("1-open"), full_page=True)
    bea.get_by_role("button", name="Open the case").click()
    expect(bea.get_by_text("Only your agency can see it")).to_be_visible()
    case = Case.objects.get(number="CAC-2026-014")

    # Sharing the full case with the Sheriff's Office is refused until the guardian's release names it.
    bea.get_by_role("link", name="Sharing").click()
    bea.get_by_label(label("Agency")).select_option(label="Sheriff's Office")
    bea.get_by_label(label("Access")).select_option("full")
    bea.get_by_label(label("Justification")).fill("Detective assigned to the buyer investigation")
    bea.get_by_role("button", name="Grant access").click()
    expect(bea.get_by_text("only under an active release of information that names it")).to_be_visible()
    bea.screenshot(path=SHOTS.format("2-refused"), full_page=True)

    bea.get_by_role("link", name="Releases").click()
    bea.get_by_label("Sheriff's Office").check()
    bea.get_by_label(label("Signed by")).select_option("guardian")
    bea.get_by_label(label("Scope")).fill("Investigation and multidisciplinary case review")
    bea.get_by_label(label("Date signed")).fill((timezone.localdate() - timedelta(days=1)).isoformat())
    bea.get_by_label(label("Expires on")).fill((timezone.localdate() + timedelta(days=90)).isoformat())
    bea.get_by_role("button", name="Record release").click()
    expect(bea.get_by_text("Release of information recorded.")).to_be_visible()
    bea.screenshot(path=SHOTS.format("3-release"), full_page=True)

    bea.get_by_role("link", name="Sharing").click()
    bea.get_by_label(label("Agency")).select_option(label="Sheriff's Office")
    bea.get_by_label(label("Access")).select_option("contribute")
    bea.get_by_label(label("Justification")).fill("Detective assigned to the buyer investigation")
    bea.get_by_role("button", name="Grant access").click()
    expect(bea.get_by_text("Access granted.")).to_be_visible()
    bea.screenshot(path=SHOTS.format("4-shared"), full_page=True)

    bea.get_by_role("link", name="Case", exact=True).click()
    bea.get_by_role("button", name="Put on the next case review").click()
    expect(bea.get_by_text("Case put on the next meeting's case-review segment.")).to_be_visible()
    bea.screenshot(path=SHOTS.format("5-case"), full_page=True)

    # The meeting runs. The Sheriff's liaison sees the case; the coordinator (facilitating, no access) does not.
    meetings.meeting_start(meeting=Meeting.objects.get(pk=meeting.pk), actor=cast.facilitator)
    meeting_url = f"{base}/tf/{slug}/meetings/{meeting.pk}/"
    alice = signed_in_page(browser, base, cast.coordinator.email)
    alice.goto(meeting_url)
    expect(alice.get_by_text("Restricted case", exact=True)).to_be_visible()
    alice.screenshot(path=SHOTS.format("6-restricted"), full_page=True)
    assert "M.R." not in alice.content() and "CAC-2026-014" not in alice.content()
    assert alice.goto(f"{base}/tf/{slug}/cases/{case.pk}/").status == 404

    larry = signed_in_page(browser, base, cast.liaison_a.email)
    larry.goto(meeting_url)
    expect(larry.get_by_text("Case CAC-2026-014 · M.R.")).to_be_visible()
    expect(larry.get_by_text("✓ Larry Liaison")).to_be_visible()  # the roster: he may take part
    larry.screenshot(path=SHOTS.format("7-participant"), full_page=True)
    larry.get_by_role("link", name="Record the review").click()
    larry.get_by_label(label("Discussion summary")).fill("Buyer identified from hotel records; safety plan holds.")
    larry.get_by_role("button", name="Save review").click()
    expect(larry.get_by_text("Review saved.")).to_be_visible()
    larry.get_by_label(label("Follow-up")).fill("Request hotel CCTV")
    larry.get_by_label(label("Owner")).select_option(label="Larry Liaison")
    larry.get_by_label(label("Due")).fill((timezone.localdate() + timedelta(days=5)).isoformat())
    larry.get_by_role("button", name="Add", exact=True).click()
    expect(larry.get_by_text("Follow-up added")).to_be_visible()
    larry.screenshot(path=SHOTS.format("8-review"), full_page=True)

    # Minutes: the restricted edition records the review; the general edition does not mention it; the review's
    # content is in the case file, for those with access.
    meetings.minutes_draft(meeting=Meeting.objects.get(pk=meeting.pk), actor=cast.facilitator)
    fred = signed_in_page(browser, base, cast.facilitator.email)
    fred.goto(f"{meeting_url}minutes/?edition=restricted")
    expect(fred.get_by_text("Case review (recorded in the case file)")).to_be_visible()
    # Fred is one of the lead agency's people: the restricted minutes show him the review itself.
    expect(fred.get_by_text("Buyer identified from hotel records; safety plan holds.")).to_be_visible()
    expect(fred.get_by_text("Request hotel CCTV", exact=False)).to_be_visible()
    fred.screenshot(path=SHOTS.format("9-restricted-minutes"), full_page=True)
    fred.goto(f"{meeting_url}minutes/?edition=general")
    general = fred.content()
    assert "Case review" not in general and "Buyer identified" not in general and "M.R." not in general
    fred.screenshot(path=SHOTS.format("10-general-minutes"), full_page=True)
    bea.goto(f"{base}/tf/{slug}/cases/{case.pk}/")
    expect(bea.get_by_text("Buyer identified from hotel records")).to_be_visible()
    expect(bea.get_by_text("Request hotel CCTV")).to_be_visible()
    alice.goto(f"{meeting_url}minutes/?edition=restricted")
    expect(alice.get_by_role("heading", name="Restricted case")).to_be_visible()
    assert "Buyer identified" not in alice.content()

    # Bea sees who looked at the case.
    bea.goto(f"{base}/tf/{slug}/cases/{case.pk}/access-log/")
    expect(bea.get_by_text("Larry Liaison").first).to_be_visible()
    bea.screenshot(path=SHOTS.format("11-access-log"), full_page=True)
    assert AuditEvent.objects.filter(action="access.not_found", actor=cast.coordinator).exists()
