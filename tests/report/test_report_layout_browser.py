"""The report as a planner opens it in Chromium: on the strike area, markers apart, and usable at 400 px."""

from __future__ import annotations

import pytest
from test_report_browser import _zoom, browser, open_report  # noqa: F401

from svitlo.report import write_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    from svitlo.cli.demo_cmd import run_demo

    res = run_demo()
    return write_report(res.grid, res.timeline, tmp_path_factory.mktemp("r") / "demo.html", scenario=res.scenario)


def test_the_map_opens_on_the_strike_area(browser, demo_report):  # noqa: F811
    page, problems = open_report(browser, demo_report, width=1400, height=1000)
    try:
        assert _zoom(page) > 2                       # zoomed in at load, no click needed
        # facility markers as first seen: decluttered, no two overlap at all (leader lines to the true spots)
        boxes = page.eval_on_selector_all("#map g.fac", "els => els.map(e => { const r = "
                                          "e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")

        def covered(a, b) -> float:
            w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            return w * h / max(1e-9, (a[2] - a[0]) * (a[3] - a[1]))

        worst = max(covered(a, b) for i, a in enumerate(boxes) for b in boxes if b is not a)
        assert len(boxes) == 23 and worst == 0.0, worst
        assert page.locator("#map line.leader").count() >= 5       # the crowded town: markers moved, tied back
        page.click("#zreset")
        assert _zoom(page) == 1
        assert problems == []
    finally:
        page.close()


@pytest.mark.parametrize("width", [400, 900])
def test_no_overflow_and_no_button_over_the_map(browser, demo_report, width):  # noqa: F811
    page, problems = open_report(browser, demo_report, width=width, height=800)
    try:
        over = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert over <= 0, f"page wider than the screen by {over} px at {width} px"
        if width <= 600:
            overlap = page.evaluate("""() => {
                const m = document.querySelector('#map').getBoundingClientRect();
                return Array.from(document.querySelectorAll('.zoomctl button')).some(b => {
                    const r = b.getBoundingClientRect();
                    return r.right > m.left && r.left < m.right && r.bottom > m.top && r.top < m.bottom; });
            }""")
            assert not overlap
        assert problems == []
    finally:
        page.close()
