"""An MOU end to end in a real browser: the coordinator circulates v1, the Sheriff's liaison objects to
clause 3, the coordinator revises it in v2, both signatories sign, and the executed PDF downloads.

Screenshots of each step go to /tmp/mou-*.png, for looking at when something fails.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from mous import services
from mous.models import Mou, MouStatus, ObjectionStatus
from tests.browser import sign_in
from tests.cast import build_cast
from tests.mous.conftest import name_signatory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = str(Path(tempfile.gettempdir()) / "mou-{}.png")


def sign_for_agency(browser: Browser, base: str, email: str, title: str, name: str) -> None:
    page = browser.new_page()
    sign_in(page, base, email)
    page.goto(f"{base}/tf/harbor-task-force/")
    page.get_by_role("link", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign for")
    page.get_by_label(re.compile("Your title")).fill(title)
    page.get_by_label(re.compile("I am authorized to sign")).check()
    page.screenshot(path=SHOTS.format(f"sign-{name}"), full_page=True)
    page.get_by_role("button", name="Sign v2").click()
    expect(page.locator(".alert-success")).to_contain_text("Signed")
    page.close()


def test_circulate_object_revise_sign_and_download(browser_settings, live_server, page: Page, browser: Browser):
    cast = build_cast()
    name_signatory(cast.agency_a, cast.liaison_a, cast.liaison_a)
    name_signatory(cast.agency_b, cast.liaison_b, cast.liaison_b)
    mou = services.mou_create(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Harbor Anti-Trafficking MOU",
        parties=[cast.agency_a, cast.agency_b],
    )
    base = live_server.url
    mou_url = f"{base}/tf/harbor-task-force/mous/{mou.pk}/"
    script_alerts: list[str] = []
    page.on("dialog", lambda dialog: (script_alerts.append(dialog.message), dialog.dismiss()))

    # The coordinator circulates v1.
    sign_in(page, base, cast.coordinator.email)
    page.goto(f"{base}/tf/harbor-task-force/")
    page.get_by_role("link", name="Agreements").first.click()
    page.get_by_role("link", name="Harbor Anti-Trafficking MOU").click()
    page.get_by_role("link", name="Draft", exact=True).click()
    page.get_by_role("link", name="Circulate for review").click()
    page.get_by_role("button", name="Freeze and circulate").click()
    expect(page.locator(".alert-success")).to_contain_text("v1 is circulated")
    page.screenshot(path=SHOTS.format("v1"), full_page=True)

    # Larry, liaison of the Sheriff's Office, objects to clause 3.
    larry = browser.new_page()
    sign_in(larry, base, cast.liaison_a.email)
    larry.goto(mou_url)
    larry.get_by_role("link", name="Circulated text (v1)").click()
    larry.get_by_role("link", name="Object to clause 3").click()
    larry.get_by_label(re.compile("Why your agency cannot accept it")).fill(
        "We cannot respond within 24 hours in the rural north of the county."
    )
    larry.get_by_label(re.compile("Proposed wording")).fill("Responds within 48 hours.")
    larry.get_by_role("button", name="Record the objection").click()
    expect(larry.locator("#objection-status")).to_have_text("Open")
    larry.screenshot(path=SHOTS.format("objection"), full_page=True)
    larry.close()

    # The coordinator revises clause 3 (with a hostile script that must stay text) and circulates v2.
    page.goto(mou_url + "draft/")
    page.get_by_role("link", name="Edit clause 3").click()
    body = page.locator("textarea[name=body]")
    body.fill(
        body.input_value().replace("Responds within 24 hours.", "Responds within 48 hours.")
        + "\n\n<script>alert('x')</script>"
    )
    page.get_by_role("button", name="Save clause").click()
    expect(page.locator(".alert-success")).to_contain_text("Clause 3 saved")
    page.get_by_role("link", name="Circulate for review").first.click()
    page.get_by_label(re.compile("What changed")).fill("Clause 3: 48 hours, as the Sheriff's Office asked.")
    page.get_by_role("button", name="Freeze and circulate").click()
    expect(page.locator(".alert-success")).to_contain_text("v2 is circulated")
    expect(page.locator("#clause-3")).to_contain_text("<script>alert('x')</script>")
    objection = mou.objections.get()
    assert objection.status == ObjectionStatus.REVISED and objection.resolved_in.number == 2

    # The side-by-side diff shows the revision.
    page.goto(mou_url + "compare/?a=1&b=2")
    expect(page.locator("ins.diff-ins").first).to_contain_text("48")
    page.screenshot(path=SHOTS.format("diff"), full_page=True)

    # Sent for signature; both signatories sign from their dashboards.
    page.goto(mou_url)
    page.get_by_role("button", name="Send v2 for signature").click()
    expect(page.locator(".alert-success")).to_contain_text("Sent for signature")
    sign_for_agency(browser, base, cast.liaison_a.email, "Sheriff", "larry")
    sign_for_agency(browser, base, cast.liaison_b.email, "Executive Director", "bea")

    # The coordinator sees the agreement executed and downloads the PDF.
    page.goto(mou_url)
    expect(page.locator("#status-matrix tr[data-state=signed]")).to_have_count(2)
    page.screenshot(path=SHOTS.format("executed"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Executed PDF").click()
    pdf = Path(download_info.value.path()).read_bytes()
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Signing certificate" in text and "Larry Liaison, Sheriff" in text
    assert "Bea Liaison, Executive Director" in text and "Responds within 48 hours." in text
    assert "<script>alert('x')</script>" in text
    executed = Mou.objects.get(pk=mou.pk)
    assert executed.status == MouStatus.EXECUTED and executed.executed_version.number == 2
    assert executed.executed_version.sha256 in "".join(text.split())
    assert not script_alerts
