"""A whole meeting in real browsers: members propose items, the facilitator composes and circulates the
agenda, runs the meeting with attendance and an overrunning item while a member follows along, records an
action item, ends the meeting and downloads the minutes PDF.

Screenshots of each step go to /tmp/meetings-*.png, for looking at when something fails.
"""

from __future__ import annotations

import io
import re
import tempfile
from datetime import time, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from meetings import services
from meetings.models import ActionItem, Attendance, Meeting
from taskforce import notifications
from tests.browser import label, signed_in_page
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = str(Path(tempfile.gettempdir()) / "meetings-{}.png")


def propose(page: Page, meeting_url: str, title: str, minutes: str, *, restricted: bool = False) -> None:
    page.goto(meeting_url)
    page.get_by_role("link", name="Propose an item").click()
    page.get_by_label(label("Title")).fill(title)
    page.get_by_label(label("Description")).fill(f"{title}: background for the group.")
    page.get_by_label(label("Minutes needed")).fill(minutes)
    if restricted:
        page.get_by_label("Restricted").check()
    page.get_by_role("button", name="Submit the item").click()
    expect(page.get_by_text("your item is with the facilitator")).to_be_visible()


def test_a_meeting_from_agenda_call_to_minutes_pdf(browser_settings, live_server, browser: Browser):
    cast = build_cast()
    meeting = services.meeting_create(
        taskforce=cast.taskforce,
        actor=cast.facilitator,
        title="Harbor monthly meeting",
        day=timezone.localdate() + timedelta(days=7),
        start_time=time(10),
        end_time=time(11),
        time_zone="America/New_York",
        location="County Building, Room 204",
        facilitator=cast.facilitator,
        note_taker=cast.member_b,
    )
    base = live_server.url
    meeting_url = f"{base}/tf/{cast.taskforce.slug}/meetings/{meeting.pk}/"

    # Members propose items while the call is open.
    mia = signed_in_page(browser, base, cast.member_b.email)
    propose(mia, meeting_url, "Runaway youth protocol update", "20")
    mia.screenshot(path=SHOTS.format("1-proposed"), full_page=True)
    larry = signed_in_page(browser, base, cast.liaison_a.email)
    propose(larry, meeting_url, "Case 24-117 placement", "10", restricted=True)

    # The facilitator accepts both, adds a long item and sees the agenda run over the meeting's hour.
    fred = signed_in_page(browser, base, cast.facilitator.email)
    fred.on("dialog", lambda dialog: dialog.accept())
    fred.goto(meeting_url)
    for _ in range(2):
        fred.get_by_role("button", name="Accept").first.click()
    fred.get_by_role("link", name="Add an item").click()
    fred.get_by_label(label("Title")).fill("Hotel outreach campaign")
    fred.get_by_label(label("Minutes needed")).fill("15")
    fred.get_by_role("button", name="Add to the agenda").click()
    total = fred.locator("#agenda-total")
    expect(total).to_have_text("72 / 60")  # 10 + 2 + 15 + 20 + 10 + 15
    expect(fred.locator("tr.agenda-over")).to_be_visible()
    fred.screenshot(path=SHOTS.format("2-agenda-over"), full_page=True)
    # Trim the training slot so it fits, then circulate.
    fred.get_by_role("row", name=re.compile("Hotel outreach")).get_by_role("button", name="To backlog").click()
    expect(total).to_have_text("57 / 60")
    mail.outbox.clear()
    fred.get_by_role("button", name="Circulate the agenda").click()
    expect(fred.get_by_text("Agenda version 1 circulated")).to_be_visible()
    # With Redis configured the sweep is queued for a worker; run it here as the worker or beat would.
    notifications.sweep()
    agenda_mails = [m for m in mail.outbox if m.subject.startswith("Agenda:")]
    assert {m.to[0] for m in agenda_mails} >= {cast.member_b.email, cast.liaison_a.email, cast.liaison_b.email}
    mia_mail = next(m for m in agenda_mails if m.to == [cast.member_b.email])
    assert "Runaway youth protocol update" in mia_mail.body and "Case 24-117" not in mia_mail.body
    assert "meeting.ics" in mia_mail.body
    mia.goto(meeting_url)
    expect(mia.get_by_text("Restricted item")).to_be_visible()
    expect(mia.get_by_text("Case 24-117")).to_have_count(0)

    with time_machine.travel(meeting.starts_at, tick=True) as clock:
        # Run it: start, check people in, add a guest.
        fred.get_by_role("link", name="Run the meeting").click()
        fred.get_by_role("button", name="Start the meeting").click()
        expect(fred.locator(".live-title")).to_contain_text("Introductions")
        larry_row = fred.locator(".roster-row", has_text="Larry Liaison")
        larry_row.get_by_role("button", name="Present + acknowledged").click()
        expect(fred.locator(".roster-row", has_text="Larry Liaison")).to_contain_text("Confidentiality acknowledged")
        fred.locator("#attendance details summary").click()
        fred.get_by_label(label("Name")).fill("Dr. Lena Ruiz")
        fred.get_by_label(label("Role")).fill("Pediatrician")
        fred.get_by_label(label("Organization")).fill("Harbor General Hospital")
        fred.get_by_label(label("Acknowledged the confidentiality commitment")).check()
        fred.get_by_role("button", name="Add guest").click()
        expect(fred.locator(".roster-row", has_text="Dr. Lena Ruiz")).to_contain_text("Guest")

        # Mia follows along and checks herself in.
        mia.goto(meeting_url + "live/")
        mia.get_by_label(re.compile("I will keep what is discussed")).check()
        mia.get_by_role("button", name="Check in").click()
        expect(mia.get_by_text("You are checked in.").first).to_be_visible()
        expect(mia.locator(".live-title")).to_contain_text("Introductions")

        # Introductions overrun their ten minutes.
        clock.shift(timedelta(minutes=12))
        fred.reload()
        expect(fred.get_by_text("Over time: wrap up or park the item.")).to_be_visible()
        expect(fred.locator(".live-current")).to_have_class(re.compile("is-over"))
        fred.screenshot(path=SHOTS.format("3-live-overrun"), full_page=True)
        fred.get_by_label(label("Notes")).fill("Eleven people introduced themselves; the new hospital liaison joined.")
        fred.get_by_role("button", name="Save notes").click()
        fred.get_by_role("button", name="Next item").click()
        expect(fred.locator(".live-title")).to_contain_text("Confidentiality reminder")
        # Mia's page moves with the room (htmx polls every five seconds).
        expect(mia.locator(".live-title")).to_contain_text("Confidentiality reminder", timeout=12_000)
        mia.screenshot(path=SHOTS.format("4-follow"), full_page=True)

        # Record an action item on the spot.
        clock.shift(timedelta(minutes=3))
        fred.get_by_role("button", name="Next item").click()
        fred.get_by_role("button", name="Next item").click()
        expect(fred.locator(".live-title")).to_contain_text("Runaway youth protocol update")
        fred.locator("#actions details summary").click() if not fred.locator("#actions details[open]").count() else None
        fred.get_by_label(label("Action")).fill("Circulate the revised runaway protocol to all agencies")
        fred.get_by_label(label("or owner (agency)")).select_option(label="Child Advocacy Center")
        fred.get_by_label(label("Due")).fill((timezone.localdate() + timedelta(days=21)).isoformat())
        fred.get_by_role("button", name="Record action item").click()
        expect(fred.get_by_text("Action item recorded.")).to_be_visible()
        fred.screenshot(path=SHOTS.format("5-live-action"), full_page=True)
        clock.shift(timedelta(minutes=15))
        fred.get_by_role("button", name="End meeting").click()
        expect(fred).to_have_url(re.compile(r"/minutes/$"))

    meeting.refresh_from_db()
    assert meeting.ended_at
    assert ActionItem.objects.get(meeting=meeting).owner_membership == cast.agency_b
    assert Attendance.objects.get(meeting=meeting, person=cast.member_b).confidentiality_acknowledged_at
    assert Attendance.objects.get(meeting=meeting, person=cast.liaison_b).status == "absent"
    intro = services.agenda_items(Meeting.objects.get(pk=meeting.pk))[0]
    assert intro.actual_seconds >= 12 * 60
    fred.screenshot(path=SHOTS.format("6-minutes"), full_page=True)

    # Download the general minutes as PDF and read it back.
    with fred.expect_download() as download_info:
        fred.get_by_role("link", name="PDF (general)").click()
    text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(Path(download_info.value.path()).read_bytes())).pages
    )
    assert "Harbor Task Force" in text and "Harbor monthly meeting" in text
    assert "Larry Liaison" in text and "Dr. Lena Ruiz" in text and "Harbor General Hospital" in text
    assert "Eleven people introduced themselves" in text
    assert "Circulate the revised runaway protocol" in text
    assert "DRAFT" in text
    assert "Case 24-117" not in text
