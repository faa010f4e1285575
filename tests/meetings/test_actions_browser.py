"""In real browsers: an action item recorded in a live meeting gets the owner's written update, which shows up
on the next meeting's agenda as a report-back item; the facilitator then records the outcome from there.

Screenshots go to /tmp/actions-*.png, for looking at when something fails.
"""

from __future__ import annotations

import re
import tempfile
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from meetings import services
from meetings.models import ActionItem, ActionStatus
from tests.browser import label, signed_in_page
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = str(Path(tempfile.gettempdir()) / "actions-{}.png")


def test_a_live_action_item_reports_back_on_the_next_agenda(browser_settings, live_server, browser: Browser):
    cast = build_cast()
    zone = "America/New_York"

    def meeting_on(day, start):
        return services.meeting_create(
            taskforce=cast.taskforce, actor=cast.facilitator, title="Harbor monthly meeting", day=day,
            start_time=start, end_time=time(23, 30), time_zone=zone, facilitator=cast.facilitator,
        )  # fmt: skip

    today = timezone.now().astimezone(timezone.get_default_timezone()).date()
    this_one = meeting_on(today, time(0, 5))
    next_one = meeting_on(today + timedelta(days=7), time(10))
    base = live_server.url
    tf = f"{base}/tf/{cast.taskforce.slug}"

    # The facilitator runs today's meeting and records an action item for Mia, to report at the next meeting.
    fred = signed_in_page(browser, base, cast.facilitator.email)
    fred.on("dialog", lambda dialog: dialog.accept())
    fred.goto(f"{tf}/meetings/{this_one.pk}/run/")
    fred.get_by_role("button", name="Start the meeting").click()
    form = fred.locator("form[action$='/actions/new/']")
    form.get_by_label(label("Action")).fill("Survey the youth shelters")
    form.get_by_label(label("Owner (person)")).select_option(label="Mia Member (Child Advocacy Center)")
    form.get_by_label(label("Report back at")).select_option(label=str(next_one))
    form.get_by_role("button", name="Record action item").click()
    expect(fred.get_by_text("Action item recorded.")).to_be_visible()
    action = ActionItem.objects.get(title="Survey the youth shelters")
    assert action.meeting == this_one and action.report_back_meeting == next_one
    fred.screenshot(path=SHOTS.format("1-recorded"), full_page=True)

    # Mia finds what she owes and writes her update.
    mia = signed_in_page(browser, base, cast.member_b.email)
    mia.goto(f"{tf}/meetings/")
    mia.get_by_role("link", name="Action items", exact=True).first.click()
    mia.get_by_label("Only what I owe").check()
    mia.get_by_role("button", name="Show").click()
    mia.get_by_role("link", name="Survey the youth shelters").click()
    mia.get_by_label(label("Status")).select_option(label="At risk")
    mia.get_by_label(label("Progress")).fill("Four of seven shelters surveyed.")
    mia.get_by_label(label("Blockers")).fill("Two shelters have not answered.")
    mia.get_by_role("button", name="Submit the update").click()
    expect(mia.get_by_text("Update submitted.")).to_be_visible()
    expect(mia.locator("[data-report-back]")).to_contain_text("Four of seven shelters surveyed.")
    mia.screenshot(path=SHOTS.format("2-update"), full_page=True)

    # The next meeting's agenda carries the report-back with the update.
    fred.goto(f"{tf}/meetings/{next_one.pk}/")
    item = fred.locator("li, tr").filter(has_text="Report-back: Survey the youth shelters").first
    expect(item).to_be_visible()
    expect(item).to_contain_text("Four of seven shelters surveyed.")
    expect(item).to_contain_text("Two shelters have not answered.")
    fred.screenshot(path=SHOTS.format("3-agenda"), full_page=True)

    # From the action item page the facilitator decides: continue, report again at a later date.
    fred.goto(f"{tf}/actions/{action.pk}/")
    fred.get_by_role("combobox", name=label("Outcome")).select_option(label="Continue, report back again")
    fred.get_by_label(label("or next report-back on")).fill((today + timedelta(days=30)).isoformat())
    fred.get_by_role("button", name="Record the outcome").click()
    expect(fred.get_by_text("Outcome recorded.")).to_be_visible()
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN and action.report_back_meeting is None
    assert re.match(r"\d{4}-\d{2}-\d{2}", str(action.report_back_on))
