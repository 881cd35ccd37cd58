"""The protect-first page: ``svitlo rank --html`` / ``svitlo harden --html`` and a page rebuilt from a run
folder show the JSON's rows and values; one check in a real browser."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from test_report_browser import _sized, browser, open_report  # noqa: F401 - browser is a fixture

from svitlo.cli.main import main
from svitlo.errors import InputError
from svitlo.report.protect import protect_page, protect_page_from_dir


def _rows(html: str, table_id: str) -> list[dict[str, str]]:
    body = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [{k: unescape(v) for k, v in re.findall(r'data-([a-z0-9-]+)="([^"]*)"', tr)}
            for tr in re.findall(r"<tr ([^>]*)>", body)]


def _num(s: str) -> float | None:
    v = json.loads(s)
    return None if v is None else float(v)


@pytest.fixture(scope="module")
def rank_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("rank")
    y = d / "s.yaml"
    y.write_text("grid: case14\ntiers: {buses: {bus:3: critical}}\n")
    assert main(["rank", str(y), "--k", "2", "--metric", "weighted_shed_mw", "--out", str(d / "o"),
                 "--html", str(d / "rank.html"), "--quiet"]) == 0
    return d, json.loads((d / "o" / "rank.json").read_text()), (d / "rank.html").read_text()


def test_rank_page_rows_equal_the_json(rank_run):
    _, r, html = rank_run
    pf = _rows(html, "protect-first")
    assert [x["asset"] for x in pf] == [a["id"] for a in r["assets"]] and len(pf) > 3
    for x, a in zip(pf, r["assets"]):
        assert int(x["rank"]) == a["rank"]
        for c in ("score", "worst_value", "n1_value", "n2_worst", "n2_mean"):
            assert _num(x[c.replace("_", "-")]) == pytest.approx(a[c], abs=1e-12), c
    ws = _rows(html, "worst-sets")
    assert [x["set"].split(",") for x in ws] == [w["assets"] for w in r["worst"]]
    assert [_num(x["value"]) for x in ws] == pytest.approx([w["value"] for w in r["worst"]])
    assert "exhaustive" in html and f"{r['scenarios_evaluated']:,} sets evaluated" in html
    # the same page rebuilt from the run folder, through the API and `svitlo report DIR --html`
    assert _rows(protect_page_from_dir(rank_run[0] / "o"), "protect-first") == pf
    page = rank_run[0] / "again.html"
    assert main(["report", str(rank_run[0] / "o"), "--html", str(page)]) == 0
    assert _rows(page.read_text(), "protect-first") == pf


def test_report_html_refused_on_a_sweep_folder(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    assert main(["report", str(tmp_path / "s"), "--html", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "html = " in err and not (tmp_path / "x.html").exists()


def test_harden_page_before_after_ci_and_baselines(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case30\nseed: 3\nstrikes: [{random: {k: 2}}]\n")
    assert main(["harden", str(y), "--budget", "2", "--method", "dad", "--objective", "worst", "--k", "2",
                 "--n", "80", "--out", str(tmp_path / "h"), "--html", str(tmp_path / "h.html")]) == 0
    capsys.readouterr()
    d = json.loads((tmp_path / "h" / "harden.json").read_text())
    html = (tmp_path / "h.html").read_text()
    fig = _rows(html, "harden-figures")
    assert [v for x in fig for v in (_num(x["before"]), _num(x["after"]))] == pytest.approx(
        [d["in_sample"]["before"], d["in_sample"]["after"], d["out_of_sample"]["before"],
         d["out_of_sample"]["after"]])
    lo, hi = d["out_of_sample"]["ci95"]
    assert f"{lo:,.2f} … {hi:,.2f}" in html and 'class="whisker"' in html
    base = _rows(html, "harden-baselines")
    assert {x["baseline"]: _num(x["after"]) for x in base} == pytest.approx(d["baselines"])
    assert ", ".join(d["protected"]) in html and "Defender–attacker–defender" in html
    assert d["info"]["worst_attack_after"] and "worst 2-attack" in html


def test_page_needs_a_result_and_escapes(tmp_path):
    with pytest.raises(InputError):
        protect_page()
    with pytest.raises(InputError, match="rank.json"):
        protect_page_from_dir(tmp_path)
    r = {"metric": "shed_mw", "k": 1, "method": "m<x>", "scenarios_evaluated": 1, "optimality": {"status": "optimal",
         "gap": 0.0}, "worst": [], "assets": [{"id": "line:<1>", "rank": 1, "score": 0.5, "times_in_worst": 1,
         "worst_value": None, "n1_value": 2.0, "n2_worst": None, "n2_mean": None}]}
    h = protect_page(rank=r)
    assert "line:<1>" not in h and "line:&lt;1&gt;" in h and "m&lt;x&gt;" in h


@pytest.mark.browser
def test_rank_page_draws_in_chromium(rank_run, browser):  # noqa: F811 - the fixture
    d, r, _ = rank_run
    page, problems = open_report(browser, d / "rank.html")
    try:
        assert _sized(page, "#protect-first tbody tr") == len(r["assets"])
        assert _sized(page, "#worst-sets tbody tr") == len(r["worst"])
        assert _sized(page, "svg.bars rect") == min(sum(a["score"] > 0 for a in r["assets"]), 15) > 0
        assert page.text_content("#protect-first tbody tr td") == r["assets"][0]["id"]
        assert problems == []
    finally:
        page.close()
