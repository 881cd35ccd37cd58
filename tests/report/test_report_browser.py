"""The HTML report in a real headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright).

Skipped when Chromium or Playwright is missing, unless ``SVITLO_REQUIRE_BROWSER=1`` (CI), where it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_report_html import hand_timeline, small_grid

from svitlo.report import write_report

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for p in (os.environ.get("SVITLO_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if p and Path(p).is_file() and os.access(p, os.X_OK):
            return p
    return None


def _need_browser(reason: str):
    if os.environ.get("SVITLO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"SVITLO_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    exe = chromium_path()
    if exe is None:
        _need_browser("Chromium not found at /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need_browser("Python Playwright is not installed (pip install playwright; no browser download "
                      "is needed)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_report(browser, path: Path, *, width: int = 1280, height: int = 900):
    """A page on the report, collecting console errors, page errors and any network request."""
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    def on_console(m) -> None:
        if m.type == "error":
            problems.append(f"console.{m.type}: {m.text}")

    def on_request(r) -> None:
        if not r.url.startswith("file:"):
            problems.append(f"request: {r.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", on_request)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, problems


def _states(page) -> list[str]:
    return page.eval_on_selector_all("#map g.fac", "els => els.map(e => e.getAttribute('data-state'))")


def _sized(page, selector: str) -> int:
    """How many elements match ``selector`` with a non-empty on-screen box."""
    return page.eval_on_selector_all(
        selector, "els => els.filter(e => { const r = e.getBoundingClientRect(); "
                  "return r.width > 0 && r.height > 0; }).length")


def _zoom(page) -> float:
    return float(page.get_attribute("#zoom", "transform").split("scale(")[1].rstrip(")"))


def test_report_draws_and_the_slider_moves_the_states(browser, tmp_path):
    path = write_report(small_grid(), hand_timeline(), tmp_path / "report.html")
    page, problems = open_report(browser, path)
    try:
        assert _sized(page, "#map circle.bus") == 5
        assert _sized(page, "#map line.br") == 4
        assert _sized(page, "#map g.fac") == 3
        assert _sized(page, "svg.chart polyline") >= 6
        assert page.text_content("#hourlabel") == "hour 0"
        assert _states(page) == ["grid", "grid", "grid"]
        bus4 = page.get_attribute("#map circle.bus[data-i='4']", "class")

        # keyboard on the slider, as a person would: hour 1
        page.focus("#hour")
        page.keyboard.press("ArrowRight")
        assert page.text_content("#hourlabel") == "hour 1"
        assert _states(page) == ["grid", "backup", "grid"]
        assert page.get_attribute("#map circle.bus[data-i='4']", "class") != bus4
        assert "destroyed" in page.text_content("#nowevents")
        assert page.text_content("#nowbackup") == "Base station (telecom): 3.0 h left"
        assert page.get_attribute("#map line.br[data-i='1']", "class").split()[-1] == "c0"

        page.keyboard.press("End")
        assert page.text_content("#hourlabel") == "hour 5"
        assert _states(page) == ["grid", "dark", "grid"]
        assert page.text_content("#t-facilities tbody tr:nth-child(2) td.now") == "dark"
        assert page.eval_on_selector("#t-hourly tr.now", "e => e.getAttribute('data-h')") == "5"
        cursor_x = float(page.get_attribute("#resilience rect.cursor", "x"))

        page.keyboard.press("Home")
        assert _states(page) == ["grid", "grid", "grid"]
        assert float(page.get_attribute("#resilience rect.cursor", "x")) < cursor_x
        # zoom buttons work, markers keep a size, the scale bar label follows the zoom
        km0 = page.text_content("#map g.scale text")
        page.click("#zin")
        assert "scale(1.5)" in page.get_attribute("#zoom", "transform")
        assert _sized(page, "#map g.fac") == 3
        assert page.text_content("#map g.scale text") != km0
        page.click("#zreset")
        page.click("#zfocus")   # the box around the struck lines: here nearly the whole grid
        assert page.get_attribute("#map", "data-focus")
        assert _zoom(page) >= 1
        # the hostile name is text, never markup
        assert page.eval_on_selector_all("script", "els => els.length") == 2
        assert '<script>alert("x")</script>' in page.text_content("#t-facilities")
        assert problems == []
    finally:
        page.close()


def test_demo_report_in_the_browser(browser, tmp_path):
    """The report of the shipped demo scenario draws with no error (and is the screenshot in docs/)."""
    from svitlo.cli.demo_cmd import run_demo

    result = run_demo()
    path = write_report(result.grid, result.timeline, tmp_path / "demo.html")
    page, problems = open_report(browser, path, width=1400, height=1000)
    try:
        n_bus = len(result.grid.buses)
        assert _sized(page, "#map circle.bus") == n_bus
        assert _sized(page, "#map g.fac") == len(result.timeline.facilities)
        before = _states(page)
        page.focus("#hour")
        for _ in range(12):
            page.keyboard.press("ArrowRight")
        assert _states(page) != before
        page.click("#zfocus")   # the strike area is a small part of the region
        assert _zoom(page) > 2
        assert problems == []
        if os.environ.get("SVITLO_SCREENSHOT"):   # how docs/report.png is made
            page.screenshot(path=os.environ["SVITLO_SCREENSHOT"], full_page=False)
    finally:
        page.close()
