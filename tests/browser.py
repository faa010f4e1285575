"""Helpers for the Playwright tests: signing in through the real login form, and crispy form labels."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.cast import PASSWORD


def label(text: str) -> re.Pattern:
    """A form label as crispy renders it: required fields carry a trailing asterisk."""
    return re.compile(rf"^\s*{re.escape(text)}\s*\*?\s*$")


def sign_in(page: Page, base: str, email: str, password: str = PASSWORD) -> Page:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    return page


def signed_in_page(browser: Browser, base: str, email: str) -> Page:
    """A new browser context (its own cookies) with `email` signed in: one per person in a scenario."""
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    return sign_in(page, base, email)
