"""Onboarding in a real browser: the admin adds an agency, its liaison joins from the emailed link and
completes the profile, and the directory shows the agency active.

Screenshots of each step go to /tmp/onboarding-*.png, for looking at when something fails.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from members.models import Membership, MembershipStatus, User
from tests.browser import label, sign_in
from tests.cast import PASSWORD, build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = str(Path(tempfile.gettempdir()) / "onboarding-{}.png")  # /tmp/onboarding-*.png
AGENCY = "Harbor General Hospital"
LIAISON = "Dr. Amara Singh"
LIAISON_EMAIL = "amara@hospital.example.org"


def test_an_admin_onboards_an_agency_and_its_liaison_joins(browser_settings, live_server, page: Page, browser: Browser):
    cast = build_cast()
    mail.outbox.clear()  # the cast's own invitations
    base = live_server.url
    harbor = f"{base}/tf/{cast.taskforce.slug}/"
    page.set_default_timeout(15_000)

    # The admin signs in through the real form and goes to Harbor.
    sign_in(page, base, cast.admin.email, PASSWORD)
    assert "/2fa/" not in page.url, "REQUIRE_MFA should be off here"
    page.goto(harbor)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Harbor Task Force")
    page.screenshot(path=SHOTS.format("1-dashboard"), full_page=True)

    # Add an agency.
    page.get_by_role("link", name="Add an agency").first.click()
    expect(page).to_have_url(re.compile(r"/agencies/add/"))
    page.get_by_label(label("Name")).fill(AGENCY)
    page.get_by_label(label("Sector")).select_option("health_care")
    page.get_by_label(label("Jurisdiction")).fill("Port Harbor")
    page.get_by_label(label("Liaison's full name")).fill(LIAISON)
    page.get_by_label(label("Liaison's email")).fill(LIAISON_EMAIL)
    page.get_by_label(label("Expected roles and responsibilities")).fill("Medical exams for identified youth.")
    page.screenshot(path=SHOTS.format("2-onboard-form"), full_page=True)
    page.get_by_role("button", name="Add agency and invite liaison").click()

    expect(page.get_by_role("status").filter(has_text="added")).to_contain_text(
        f"{AGENCY} added. An invitation is on its way to {LIAISON_EMAIL}."
    )
    page.screenshot(path=SHOTS.format("3-onboarded"), full_page=True)
    membership = Membership.objects.get(taskforce=cast.taskforce, agency__name=AGENCY)
    assert membership.status == MembershipStatus.INVITED

    # The invitation email carries a single-use link.
    assert [message.to for message in mail.outbox] == [[LIAISON_EMAIL]]
    link = re.search(r"/join/[\w-]+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    # The liaison opens it in their own browser.
    liaison_context = browser.new_context()
    try:
        liaison = liaison_context.new_page()
        liaison.set_default_timeout(15_000)
        liaison.goto(base + link.group(0))
        expect(liaison.get_by_role("heading", level=1)).to_contain_text("Join Harbor Task Force")
        expect(liaison.get_by_label(label("Full name"))).to_have_value(LIAISON)
        liaison.get_by_label(label("Title")).fill("Pediatrician")
        liaison.get_by_label(label("Choose a password")).fill("a-long-unusual-passphrase")
        liaison.get_by_label(label("Repeat the password")).fill("a-long-unusual-passphrase")
        liaison.get_by_label(re.compile("keep what I learn about cases and victims")).check()
        liaison.screenshot(path=SHOTS.format("4-accept"), full_page=True)
        liaison.get_by_role("button", name="Accept and join").click()

        # Straight to the agency's profile.
        expect(liaison).to_have_url(re.compile(rf"/agencies/{membership.pk}/profile/$"))
        expect(liaison.get_by_role("heading", level=1)).to_have_text("Roles, responsibilities and commitment")
        liaison.get_by_label(label("Roles and responsibilities in this task force")).fill(
            "Forensic medical exams within 24 hours of a referral."
        )
        liaison.get_by_label(label("Response when a case or victim comes to you")).fill("Page the on-call SANE nurse.")
        liaison.get_by_label(label("Authorized signatory")).select_option(label=LIAISON)
        liaison.get_by_label(re.compile("commits to the task force's mission")).check()
        liaison.screenshot(path=SHOTS.format("5-profile"), full_page=True)
        liaison.get_by_role("button", name="Save profile").click()

        expect(liaison).to_have_url(re.compile(rf"/agencies/{membership.pk}/$"))
        expect(liaison.get_by_text(f"Acknowledged by {LIAISON}")).to_be_visible()
        liaison.screenshot(path=SHOTS.format("6-agency"), full_page=True)
    finally:
        liaison_context.close()

    amara = User.objects.get(email=LIAISON_EMAIL)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and membership.liaison == amara
    assert membership.signatory == amara and membership.commitment_acknowledged_by == amara

    # The admin sees the agency active, with its liaison, in the directory.
    page.goto(f"{harbor}directory/")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=AGENCY))
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(LIAISON)
    page.screenshot(path=SHOTS.format("7-directory"), full_page=True)
