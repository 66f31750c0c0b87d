"""Headless Chromium for the tests of ember's HTML pages (``ember explain playground`` / ``report``).

Why Selenium with the distribution's chromedriver, and not ``chromium --headless --dump-dom``:
a test needs to *call* the page's JavaScript with arguments and get JSON values back
(``execute_script``), read the console (uncaught exceptions and ``console.error`` arrive in
chromedriver's browser log), set a real phone viewport (so the page's viewport meta and CSS
media queries apply) and take screenshots, all in one browser process that stays up for the
whole test session (one start, ~1 s). ``--dump-dom`` gives none of that without smuggling
results through the DOM and scraping stderr. Selenium is only a test dependency (the ``test``
extra); ember itself never imports it.

The browser is kept offline: every host name resolves to nothing, so a page that tries to
load anything from the network gets a console error instead of a silent download.

    from tests.explain.browser import requires_browser, open_page

    @requires_browser
    def test_page(tmp_path):
        page = open_page(tmp_path / "page.html", width=390, height=844)
        assert page.run("return document.title") == "..."
        assert page.console_errors() == []
        page.screenshot(tmp_path / "phone.png")
"""
from __future__ import annotations

import atexit
import base64
import importlib.util
import os
import pathlib
import shutil
import threading

import pytest

__all__ = ["browser_unavailable_reason", "browser_available", "requires_browser", "open_page",
           "Page", "PHONE", "DESKTOP"]

DESKTOP = (1280, 800)
PHONE = (390, 844)       # an iPhone 12-15 viewport in CSS pixels

_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _chromium() -> str | None:
    """The browser binary: $EMBER_CHROMIUM, else the first of the usual names on PATH."""
    env = os.environ.get("EMBER_CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    return next((p for p in map(shutil.which, _CHROMIUM_NAMES) if p), None)


def _chromedriver() -> str | None:
    return shutil.which(os.environ.get("EMBER_CHROMEDRIVER", "chromedriver"))


def browser_unavailable_reason() -> str | None:
    """Why no browser test can run here (None when one can): what is missing and how to get it."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (it is in the test extra: pip install '.[test]')"
    if _chromium() is None:
        if os.environ.get("EMBER_CHROMIUM"):
            return f"EMBER_CHROMIUM={os.environ['EMBER_CHROMIUM']} is not an executable"
        return ("no Chromium found on PATH (Debian/Ubuntu: apt-get install chromium "
                "chromium-driver; or set EMBER_CHROMIUM)")
    if _chromedriver() is None:
        return ("Chromium is installed but chromedriver is not (Debian/Ubuntu: apt-get install "
                "chromium-driver; or set EMBER_CHROMEDRIVER)")
    return None


def browser_available() -> bool:
    return browser_unavailable_reason() is None


requires_browser = pytest.mark.skipif(not browser_available(),
                                      reason=f"headless browser tests: "
                                             f"{browser_unavailable_reason()}")


# -- one browser per test process ------------------------------------------------------------

_driver = None
_lock = threading.Lock()


def _start_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for arg in ("--headless=new", "--no-sandbox",           # root in containers needs no-sandbox
                "--disable-gpu", "--disable-dev-shm-usage",  # small /dev/shm in containers
                "--hide-scrollbars", "--force-device-scale-factor=1",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                # offline: any network request fails (and shows up as a console error)
                "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: Selenium Manager would otherwise try to download one
    driver = webdriver.Chrome(options=options, service=Service(executable_path=_chromedriver()))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def _get_driver():
    global _driver
    with _lock:
        if _driver is None:
            _driver = _start_driver()
            atexit.register(_quit_driver)
        return _driver


def _quit_driver():
    global _driver
    if _driver is not None:
        try:
            _driver.quit()
        finally:
            _driver = None


class Page:
    """One loaded page in the shared headless browser."""

    def __init__(self, driver, url: str):
        self.driver = driver
        self.url = url
        self._errors = []

    def run(self, script: str, *args):
        """Run ``script`` (a function body: use ``return``) in the page; JSON-like values come
        back as Python lists, dicts, numbers and strings."""
        return self.driver.execute_script(script, *args)

    def run_async(self, script: str, *args):
        """Like :meth:`run`, but the script calls ``arguments[arguments.length - 1](value)``
        when it is done (e.g. after some animation frames)."""
        return self.driver.execute_async_script(script, *args)

    def console_errors(self) -> list:
        """Every uncaught exception, ``console.error`` and failed load since the page was
        opened, as the browser printed them (chromedriver's SEVERE browser-log entries)."""
        self._errors += [e["message"] for e in self.driver.get_log("browser")
                         if e["level"] == "SEVERE"]
        return list(self._errors)

    def screenshot(self, path, full_page: bool = False) -> pathlib.Path:
        """Save a PNG of the viewport (or of the whole page) to ``path``, atomically."""
        params = {"format": "png"}
        if full_page:
            width, height = self.run("return [document.documentElement.scrollWidth,"
                                     " document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        data = base64.b64decode(self.driver.execute_cdp_cmd("Page.captureScreenshot",
                                                            params)["data"])
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path


def open_page(path, width: int = DESKTOP[0], height: int = DESKTOP[1],
              mobile: bool | None = None) -> Page:
    """Load the local HTML file ``path`` in a ``width`` x ``height`` CSS-pixel viewport
    (``mobile`` defaults to width < 600: a phone viewport, where the page's viewport meta
    applies) and return it once the load event has fired."""
    driver = _get_driver()
    driver.get_log("browser")                       # drop the previous page's messages
    mobile = width < 600 if mobile is None else mobile
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": int(width), "height": int(height),
                            "deviceScaleFactor": 1, "mobile": bool(mobile)})
    url = pathlib.Path(path).resolve().as_uri()
    driver.get(url)
    return Page(driver, url)
