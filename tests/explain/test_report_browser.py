"""The report page in headless Chromium: it loads with no console errors (also the failure
page), the numbers in the DOM are summary()'s, the search box filters the layers, nothing
overflows a phone's width, and desktop (1280x900) and phone (390x844) screenshots are saved
(to $EMBER_TEST_ARTIFACTS when set, else the test's tmp dir). Skipped, with the reason, where
no browser is installed.

docs/explain.md's screenshots: ``python -m tests.explain.test_report_browser docs/img/explain``."""
from __future__ import annotations

import os
import pathlib

import pytest

import ember
from ember.explain.report import build_report, write_report
from ember.explain.summary import lenet, summary
from tests.explain.browser import PHONE, open_page, requires_browser

pytestmark = requires_browser

DESKTOP = (1280, 900)
PHOTO = os.path.join(os.path.dirname(ember.__file__), "explain", "data", "grace_hopper.jpg")

_ROWS = """return Array.from(document.querySelectorAll('tr.layer')).map(function (tr) {
  var cell = function (c) { return tr.querySelector('td.' + c).textContent; };
  return [tr.getAttribute('data-name'), cell('type'), cell('out'), cell('params'), cell('madds')];
});"""


def write_lenet_page(folder) -> pathlib.Path:
    """LeNet on the bundled photo (grey, 32x32): every section of the page is there."""
    report = build_report(lenet(), (1, 1, 32, 32), name="lenet", image=PHOTO)
    return pathlib.Path(write_report(report, str(pathlib.Path(folder) / "lenet.html")))


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    return write_lenet_page(tmp_path_factory.mktemp("report"))


def test_loads_without_errors_and_shows_summarys_numbers(page_path):
    page = open_page(page_path, *DESKTOP)
    assert page.console_errors() == []
    want = summary(lenet(), (1, 1, 32, 32))
    assert page.run(_ROWS) == [
        [info.name, info.type, str(list(info.output_shape)),
         f"{info.params:,}" if info.params else "--",
         f"{info.mult_adds:,}" if info.mult_adds else "--"] for info in want.layers]
    assert page.run("return document.getElementById('total-params').textContent") == f"{want.total_params:,}"
    assert page.run("return document.querySelectorAll('img').length") > 10
    assert page.run("return Array.from(document.images).every(function (i) {"
                    " return i.complete && i.naturalWidth > 0; })")


def test_search_filters_the_layers(page_path):
    page = open_page(page_path, *DESKTOP)
    shown = page.run("""var box = document.getElementById('search');
        box.value = 'conv'; box.dispatchEvent(new Event('input'));
        return [Array.from(document.querySelectorAll('tr.layer')).filter(function (tr) {
                  return !tr.hidden && tr.offsetParent !== null; }).map(function (tr) {
                  return tr.getAttribute('data-name'); }),
                document.getElementById('search-count').textContent];""")
    assert shown == [["features.0", "features.3"], '2 layers match "conv"']
    assert page.run("var box = document.getElementById('search'); box.value = '';"
                    "box.dispatchEvent(new Event('input'));"
                    "return document.querySelectorAll('tr.layer:not([hidden])').length") == len(
                        summary(lenet(), (1, 1, 32, 32)).layers)
    assert page.console_errors() == []


def save_screenshots(page_path, folder) -> list:
    """The top of the page on a desktop, the layer table on a phone, the feature maps on a
    desktop."""
    folder = pathlib.Path(folder)
    shots = []
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(page_path, *size)
        # a phone scrolls inside the tables, never the page sideways
        assert page.run("return document.documentElement.scrollWidth") == size[0], name
        if name == "phone":   # the layer table, which scrolls sideways inside its box
            page.run("document.querySelector('table.layers').scrollIntoView()")
        shots.append(page.screenshot(folder / f"report-{name}.png"))
        assert page.console_errors() == [], name
    page = open_page(page_path, *DESKTOP)
    page.run("document.getElementById('features').scrollIntoView()")
    shots.append(page.screenshot(folder / "report-features.png"))
    return shots


def test_screenshots_desktop_and_phone(page_path, tmp_path):
    from PIL import Image
    folder = os.environ.get("EMBER_TEST_ARTIFACTS") or tmp_path
    for png, (width, height) in zip(save_screenshots(page_path, folder), (DESKTOP, PHONE, DESKTOP)):
        with Image.open(png) as im:
            assert im.size == (width, height), png
            colours = {c for _, c in im.convert("RGB").getcolors(1 << 22)}
        assert (31, 95, 168) in colours          # the accent blue: links, the conv family
        assert len(colours) > 50, png            # text and pictures, not a blank page


def test_failure_page(tmp_path):
    report = build_report(lenet(), (1, 1, 8, 8), name="lenet")
    page = open_page(write_report(report, str(tmp_path / "fail.html")), *PHONE)
    assert page.console_errors() == []
    text = page.run("return document.querySelector('main').innerText")
    assert "The model failed at features.3 (Conv2d)" in text
    assert "kernel 5 is larger than the padded input 2 along H" in text
    assert page.run("return document.documentElement.scrollWidth") == PHONE[0]


if __name__ == "__main__":
    import sys
    import tempfile

    from tests.explain.test_playground_browser import _shrink_png
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    with tempfile.TemporaryDirectory() as tmp:
        for png in save_screenshots(write_lenet_page(tmp), out):
            _shrink_png(png)
            print(f"wrote {png} ({png.stat().st_size // 1024} KiB)")
