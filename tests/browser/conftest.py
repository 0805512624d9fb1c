"""A headless Chromium through the system chromedriver, over pytest-django's live server.

Without Chromium the browser tests skip, saying why; with CI=true that is a failure.
They run on SQLite (the suite's first run); on the other databases they skip unless
RESILIENT_QUEUE_BROWSER_ALL_DATABASES=1, to keep CI's time reasonable: the admin's
queries are tested on every database through the test Client.

Screenshots go to build/screenshots/; with RESILIENT_QUEUE_SCREENSHOTS=1 they also
replace the ones in docs/howto/img/ (the operating guide shows them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "build" / "screenshots"
DOCS_SHOTS = REPO / "docs" / "howto" / "img"


def _missing() -> str | None:
    if not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()):
        return (
            f"Chromium not found ({CHROMIUM}, {CHROMEDRIVER}): install chromium and chromium-driver"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@pytest.fixture
def browser(live_server: Any) -> Iterator[Any]:
    """A logged-out headless Chromium; ``browser.base`` is the live server's URL."""
    from django.db import connection

    if connection.vendor != "sqlite" and not os.environ.get(
        "RESILIENT_QUEUE_BROWSER_ALL_DATABASES"
    ):
        pytest.skip("browser tests run on SQLite (RESILIENT_QUEUE_BROWSER_ALL_DATABASES=1 for all)")
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true and the browser tests cannot run: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    driver.base = live_server.url
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot(browser: Any) -> Callable[[str], Path]:
    """Save the page as build/screenshots/NAME.png (and in the docs when asked)."""

    def take(name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1400, min(max(700, int(height) + 40), 2400))
        browser.save_screenshot(str(path))
        browser.set_window_size(1400, 1000)
        if os.environ.get("RESILIENT_QUEUE_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, DOCS_SHOTS / path.name)
        return path

    return take
