"""``svitlo serve`` in a real headless Chromium (Debian's, driven by Playwright, as the report tests): compose a
strike on the demo map, assess it, simulate it and move the report's hour slider, open a stored sweep's worst
scenario, launch a sweep whose progress survives a reload, compare two timelines. No console error, no request
leaves the server.

Skipped without Chromium or Playwright unless ``SVITLO_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from test_report_browser import browser  # noqa: F401  (the shared Chromium fixture)

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from svitlo.web.app import ServerConfig, create_app  # noqa: E402

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard on the demo folder, a store holding one case9 sweep, on a free loopback port."""
    from svitlo.analyses.sweep import sweep
    from svitlo.cli.demo_cmd import demo_scenario_path

    store = tmp_path_factory.mktemp("store")
    sweep({"name": "nine random", "grid": "case9", "seed": 2, "strikes": [{"random": {"k": 2}}],
           "horizon_h": 12}, n=30, out=store / "nine")
    demo = demo_scenario_path()
    app = create_app(ServerConfig(data_dir=demo.parent, store_dir=store, first_scenario=demo.name, demo=True))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    t0 = time.monotonic()
    while not srv.started:
        if time.monotonic() - t0 > 60:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(timeout=20)


def _page(browser, url: str, *, width: int = 1400, height: int = 1000):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: None if r.url.startswith(url) else problems.append(f"request: {r.url}"))
    page.goto(url + "/")
    return page, problems


def _sized(page, selector: str) -> int:
    return page.eval_on_selector_all(
        selector, "els => els.filter(e => { const r = e.getBoundingClientRect(); "
                  "return r.width > 0 && r.height > 0; }).length")


def test_compose_assess_simulate_and_scrub(browser, server):  # noqa: F811
    page, problems = _page(browser, server)
    try:
        page.wait_for_selector("#compose-map svg.map circle.bus", timeout=120_000)   # the demo opens itself
        n_bus = _sized(page, "#compose-map circle.bus")
        assert n_bus > 100 and _sized(page, "#compose-map g.fac") > 10
        page.uncheck("#keep-file-strikes")
        # pick two lines by clicking them on the map, then place one aim point
        ids = page.evaluate("() => { const s = document.querySelectorAll('#compose-map line.br'); "
                            "return [s[10].getAttribute('data-i'), s[40].getAttribute('data-i')]; }")
        for i in ids:
            page.locator(f"#compose-map line.br[data-i='{i}']").dispatch_event("click")
        assert page.locator("#compose-map line.br.picked").count() == 2
        page.check("#mode-aim")
        page.select_option("#weapon", "FAB-500")
        box = page.locator("#compose-map svg.map").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
        assert page.locator("#compose-map g.aim").count() == 1
        assert page.locator("#strike-list li").count() == 3
        assert "FAB-500" in page.text_content("#strike-list")

        page.click("#assess")
        page.wait_for_selector("#metrics", timeout=60_000)
        destroyed = page.text_content("#destroyed")
        assert destroyed.count("line:") >= 2                     # both picked lines
        assert int(page.text_content("#metrics dd[data-k='destroyed_assets']")) >= 2
        assert page.locator("#compose-map line.br.c0").count() >= 2   # drawn destroyed

        page.fill("#horizon", "24")
        page.click("#simulate")
        frame = page.frame_locator("#report")
        frame.locator("#hour").wait_for(timeout=120_000)
        assert frame.locator("#hourlabel").text_content() == "hour 0"
        frame.locator("#hour").focus()
        page.keyboard.press("End")
        assert frame.locator("#hourlabel").text_content() == "hour 23"
        assert frame.locator("#map circle.bus").count() == n_bus
        if os.environ.get("SVITLO_SCREENSHOT_SERVE"):    # how docs/serve.png is made
            page.evaluate("() => window.scrollTo(0, 0)")
            page.screenshot(path=os.environ["SVITLO_SCREENSHOT_SERVE"], full_page=False)
        shot = page.screenshot(full_page=False)
        assert len(shot) > 20_000                               # a drawn page, not a blank one
        assert problems == []
    finally:
        page.close()


def test_stored_run_worst_scenario_sweep_progress_and_compare(browser, server):  # noqa: F811
    page, problems = _page(browser, server)
    try:
        page.wait_for_selector("#compose-map svg.map", timeout=120_000)
        page.click("nav button[data-tab='runs']")
        page.click("#run-list button[data-run='nine']")
        page.wait_for_selector("#run-out svg.chart polyline", timeout=60_000)
        assert _sized(page, "#run-out svg.chart polyline") == 2           # two risk curves
        page.click("#run-out button.openworst >> nth=0")
        frame = page.frame_locator("#run-report")
        frame.locator("#hour").wait_for(timeout=60_000)
        assert frame.locator("#map circle.bus").count() == 9
        assert "destroyed" in frame.locator("#nowevents").text_content()

        # launch a sweep of the open demo scenario; the progress bar is there again after a reload
        page.fill("#sweep-n", "20000")
        page.fill("#sweep-name", "demo-ui")
        page.click("#launch")
        page.wait_for_selector("#job-list li[data-state='running']", timeout=120_000)
        page.reload()
        page.wait_for_selector("#compose-map svg.map", timeout=120_000)
        page.click("nav button[data-tab='runs']")
        page.wait_for_selector("#job-list li[data-state='running'] .progress", timeout=30_000)
        page.click("#job-list li[data-state='running'] button.cancel")
        page.wait_for_selector("#job-list li[data-state='cancelled']", timeout=120_000)

        # compare two plans simulated in this page: no crews, then four crews
        page.click("nav button[data-tab='compose']")
        page.fill("#horizon", "12")
        for crews in ("0", "4"):
            page.fill("#crews", crews)
            page.click("#simulate")
            page.wait_for_function("() => !document.getElementById('simulate').disabled", timeout=120_000)
        page.click("nav button[data-tab='compare']")
        sims = page.eval_on_selector_all("#cmp-a option", "os => os.map(o => o.value)")
        assert [v for v in sims if v.startswith("sim:")] == ["sim:0", "sim:1"]   # the worst scenario has no request
        assert any(v.startswith("file:") for v in sims)                          # scenario files of the folder
        assert (page.input_value("#cmp-a"), page.input_value("#cmp-b")) == ("sim:0", "sim:1")
        page.click("#cmp-run")
        page.wait_for_selector("#cmp-table tbody tr", timeout=120_000)
        assert _sized(page, "#cmp-out svg.chart") == 5
        assert page.locator("#cmp-table tbody tr").count() == 11
        side = page.frame_locator("#cmp-report")
        side.locator("#t-cmp-summary").wait_for(timeout=60_000)
        assert side.locator("svg.chart").count() == 5
        if os.environ.get("SVITLO_SCREENSHOT_COMPARE"):
            page.screenshot(path=os.environ["SVITLO_SCREENSHOT_COMPARE"], full_page=False)
        assert problems == []
    finally:
        page.close()
