"""``svitlo serve``'s HTTP API in-process (Starlette's test client): results equal the library's, files stay
inside the data folder, bad requests get a 4xx with a message, sweeps launch, report progress and cancel."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from hostile import CASE9_M  # noqa: E402  (tests/ is on the path: tests/conftest.py)

import svitlo  # noqa: E402
from svitlo.engine.invariants import check_impact  # noqa: E402
from svitlo.errors import InputError  # noqa: E402
from svitlo.web.app import ServerConfig, create_app  # noqa: E402
from svitlo.web.jobs import Busy, WorkerPool  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    data, store, outside = root / "data", root / "store", root / "outside"
    for d in (data, store, outside):
        d.mkdir()
    (data / "sub").mkdir()
    (data / "sub" / "nine.m").write_text(CASE9_M)
    (outside / "secret.m").write_text(CASE9_M)
    (data / "link.m").symlink_to(outside / "secret.m")
    (data / "sub" / "strike.yaml").write_text("name: nine\ngrid: {file: nine.m}\nstrikes: [{assets: [branch:3]}]\n")
    return data, store, outside


@pytest.fixture(scope="module")
def client(folders):
    data, store, _ = folders
    with TestClient(create_app(ServerConfig(data_dir=data, store_dir=store))) as c:
        yield c


def test_import_svitlo_does_not_import_the_web_stack():
    code = "import sys, svitlo, svitlo.cli.main; print('fastapi' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_info_lists_the_data_folder_without_escaping_it(client):
    info = client.get("/api/info").json()
    assert info["grid_files"] == ["sub/nine.m"]          # link.m leads outside: not listed
    assert info["scenario_files"] == ["sub/strike.yaml"]
    assert "case118" in info["cases"] and info["store"] is True


def test_assess_equals_the_library(client):
    body = {"scenario": {"grid": "case14", "strikes": [{"assets": ["bus:1", "line:7"]}]}}
    r = client.post("/api/assess", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    imp = svitlo.assess("case14", body["scenario"])
    check_impact(imp)
    assert got["destroyed"] == list(imp.destroyed)
    for k in ("shed_mw", "served_mw", "people_without_power", "islands", "energised_islands"):
        assert got["metrics"][k] == pytest.approx(imp.metrics[k])
    assert len(got["bus_code"]) == 14 and got["bus_code"][1] == 0   # the struck bus is drawn destroyed
    assert sum(i["shed_mw"] for i in got["islands"]) <= got["metrics"]["shed_mw"] + 1e-9


def test_scenario_file_and_relative_grid(client):
    sc = client.get("/api/scenario-file", params={"name": "sub/strike.yaml"}).json()["scenario"]
    assert sc["grid"] == {"file": "nine.m"}
    r = client.post("/api/assess", json={"scenario": sc, "scenario_file": "sub/strike.yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["destroyed"] == ["branch:3"]
    m = client.post("/api/map", json={"scenario": sc, "scenario_file": "sub/strike.yaml"}).json()
    assert m["svg"].startswith('<svg id="map"') and m["svg"].count('<circle class="bus') == 9
    assert m["branches"][2] == "branch:3" and m["projection"] is None


@pytest.mark.parametrize("scenario, field", [
    ({"grid": {"file": "../outside/secret.m"}}, "grid.file"),
    ({"grid": {"file": "/etc/passwd"}}, "grid.file"),
    ({"grid": {"file": "link.m"}}, "grid.file"),                       # a symlink leading out
    ({"grid": "../../outside/secret.m"}, "grid"),
    ({"grid": {"matpower": "../../../../etc/passwd"}}, "grid.matpower"),
    ({"grid": "case9", "facilities": "../../etc/passwd"}, "facilities"),
    ({"grid": "case9", "facilities": "~/x.csv"}, "facilities"),
])
def test_no_request_names_a_file_outside_the_data_folder(client, scenario, field):
    for route in ("/api/assess", "/api/map", "/api/simulate"):
        r = client.post(route, json={"scenario": scenario})
        assert r.status_code == 400, (route, r.text)
        assert field in r.json()["detail"]


def test_scenario_file_outside_is_refused(client):
    for name in ("../outside/secret.m", "/etc/passwd", "sub/../../outside/x.yaml", "link.m"):
        r = client.get("/api/scenario-file", params={"name": name})
        assert r.status_code == 400 and "scenario_file" in r.json()["detail"], r.text
    r = client.post("/api/assess", json={"scenario": {"grid": {"file": "nine.m"}}, "scenario_file": "../x.yaml"})
    assert r.status_code == 400 and "outside the data folder" in r.json()["detail"]


def test_bad_requests_get_a_4xx_with_a_message(client):
    cases = [
        client.post("/api/assess", content=b"{not json", headers={"content-type": "application/json"}),
        client.post("/api/assess", json={"scenario": {"grid": "case9"}, "extra": 1}),
        client.post("/api/assess", json={"scenario": "case9"}),
        client.post("/api/assess", json={"scenario": {"grid": "nope"}}),
        client.post("/api/assess", json={"scenario": {"grid": "case9", "strikes": [{"assets": ["line:999"]}]}}),
        client.post("/api/assess", json={"scenario": {"grid": "case9", "base_dir": "/"}}),
        client.post("/api/simulate", json={"scenario": {"grid": "case9", "horizon_h": 5000}}),
        client.post("/api/sweeps", json={"scenario": {"grid": "case9"}, "n": 5, "run": "../evil"}),
        client.post("/api/sweeps", json={"scenario": {"grid": "case9"}, "n": 0, "run": "ok"}),
        client.get("/api/runs/..%2F..%2Fetc"),
        client.get("/api/runs/nope"),
        client.get("/api/jobs/zz"),
        client.get("/reports/../../etc/passwd"),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text)
        if r.headers.get("content-type", "").startswith("application/json"):
            assert r.json()["detail"], r.text


def test_oversize_bodies_are_refused(client):
    big = b'{"scenario": {"grid": "case9", "name": "' + b"x" * 1_200_000 + b'"}}'
    r = client.post("/api/assess", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "bytes" in r.json()["detail"]

    def chunks():   # no Content-Length: the limit counts the bytes as they arrive
        yield b'{"scenario": {"grid": "case9", "name": "'
        for _ in range(30):
            yield b"x" * 50_000
        yield b'"}}'

    r = client.post("/api/assess", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_token_host_and_headers(folders):
    data, store, _ = folders
    app = create_app(ServerConfig(data_dir=data, store_dir=store, token="s3cret"))
    with TestClient(app) as c:
        assert c.get("/api/info").status_code == 401
        assert c.get("/api/info", headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = c.get("/api/info", headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200
        assert "default-src 'self'" in r.headers["content-security-policy"]
        r = c.get("/?token=s3cret", follow_redirects=False)
        assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()
        assert c.get("/api/info").status_code == 200      # the cookie now travels
    with TestClient(create_app(ServerConfig(data_dir=data, store_dir=store))) as c:
        assert c.get("/api/info", headers={"host": "evil.example"}).status_code == 400   # DNS rebinding


def test_serve_refuses_a_public_address_without_a_token():
    from svitlo.web import serve

    with pytest.raises(InputError, match="token"):
        serve(host="0.0.0.0", port=1)
    from svitlo.cli.main import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2


def test_worker_pool_is_bounded():
    pool = WorkerPool(workers=1, queue=0)
    gate = threading.Event()

    async def scenario() -> list[str]:
        first = asyncio.ensure_future(pool.run(gate.wait, 5))
        await asyncio.sleep(0.05)
        try:
            await pool.run(sum, [1])
            second = "ran"
        except Busy:
            second = "busy"
        gate.set()
        return [str(await first), second, str(await pool.run(sum, [1, 2]))]

    assert asyncio.run(scenario()) == ["True", "busy", "3"]
    pool.close()


def test_simulate_serves_the_report(client):
    body = {"scenario": {"grid": "case9", "horizon_h": 6, "strikes": [{"assets": ["line:3"]}],
                         "repairs": {"crews": 1, "durations_h": {"line": 3}}}}
    r = client.post("/api/simulate", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["hourly"]["islands"] == [2, 2, 2, 1, 1, 1]
    page = client.get(f"/reports/{out['report_id']}")
    assert page.status_code == 200 and 'type="range"' in page.text and "script-src 'unsafe-inline'" in \
        page.headers["content-security-policy"]
    assert client.get("/reports/" + "0" * 32).status_code == 404


def _wait(client, job_id, *, until=("done", "cancelled", "failed"), timeout=240.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        j = client.get(f"/api/jobs/{job_id}").json()
        if j["state"] in until:
            return j
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {j['state']} after {timeout} s")


def test_sweep_launch_progress_tables_and_worst_scenario(client, folders):
    _, store, _ = folders
    body = {"scenario": {"name": "nine", "grid": "case9", "seed": 4, "strikes": [{"random": {"k": 2}}]},
            "n": 40, "run": "nine-40"}
    r = client.post("/api/sweeps", json=body)
    assert r.status_code == 202, r.text
    j = _wait(client, r.json()["id"])
    assert j["state"] == "done" and j["done"] == j["total"] == 40
    assert client.post("/api/sweeps", json={**body, "run": "nine-40"}).status_code == 202   # resume: no-op
    assert (store / "nine-40" / "manifest.json").is_file()
    assert [x["name"] for x in client.get("/api/runs").json()["runs"]] == ["nine-40"]
    run = client.get("/api/runs/nine-40").json()
    assert run["rows"] == 40 and run["complete"]
    worst = run["tables"]["worst"][0]
    assert worst["shed_mw"] == max(w["shed_mw"] for w in run["tables"]["worst"])
    tl = client.post(f"/api/runs/nine-40/scenarios/{worst['scenario']}").json()
    assert tl["hourly"]["shed_mw"][0] == pytest.approx(worst["shed_mw"])   # same strike, same state at hour 0
    assert client.post("/api/runs/nine-40/scenarios/40").status_code == 400


def test_sweep_cancel_keeps_stored_chunks_and_resumes(client):
    body = {"scenario": {"name": "nine", "grid": "case9", "strikes": [{"random": {"k": 1}}]},
            "n": 20_000, "run": "big"}
    job = client.post("/api/sweeps", json=body).json()
    _wait(client, job["id"], until=("running",))
    listed = client.get("/api/jobs").json()["jobs"]          # what a reloaded page reads back
    assert any(x["id"] == job["id"] for x in listed)
    r = client.delete(f"/api/jobs/{job['id']}")
    assert r.status_code == 200
    j = _wait(client, job["id"])
    assert j["state"] == "cancelled" and j["done"] < 20_000
    run = client.get("/api/runs/big").json()
    assert not run["complete"] and run["rows"] == j["done"]
    assert Path(client.app.state.workspace.store_dir, "big").is_dir()


def test_compare_two_plans_equals_the_library(client):
    from svitlo.report.compare import compare_timelines

    fac = [{"id": "h", "kind": "hospital", "name": "Hospital", "bus": "bus:4", "demand_kw": 5000.0, "tier": 1,
            "gen_kw": 5000.0, "fuel_h": 6.0, "gen_fail_prob": 0.0}]
    a = {"name": "no crews", "grid": "case9", "horizon_h": 8, "strikes": [{"assets": ["line:1", "line:2"]}],
         "facilities": fac}
    b = {**a, "name": "two crews", "repairs": {"crews": 2, "durations_h": {"line": 3}}}
    r = client.post("/api/compare", json={"a": {"scenario": a}, "b": {"scenario": b}})
    assert r.status_code == 200, r.text
    out = r.json()
    want = compare_timelines(svitlo.simulate("case9", a), svitlo.simulate("case9", b))
    assert out["labels"] == ["no crews", "two crews"]
    assert out["summary"] == want["summary"] and out["facilities"] == want["facilities"]
    assert out["a"]["hourly"]["critical_grid_mw"] == pytest.approx(want["a"]["hourly"]["critical_grid_mw"])
    page = client.get(f"/reports/{out['report_id']}")
    assert page.status_code == 200 and "no crews vs two crews" in page.text and 'id="t-cmp-summary"' in page.text
    # a scenario file of the data folder on one side; bad requests are 4xx naming the side and field
    r = client.post("/api/compare", json={"a": {"scenario": {"grid": {"file": "nine.m"}, "horizon_h": 3},
                                                "scenario_file": "sub/strike.yaml"},
                                          "b": {"scenario": {"grid": "case9", "horizon_h": 3}}})
    assert r.status_code == 200, r.text
    bad = [client.post("/api/compare", json={"a": {"scenario": a}}),
           client.post("/api/compare", json={"a": {"scenario": a}, "b": {"scenario": {"grid": "../../x.m"}}}),
           client.post("/api/compare", json={"a": {"scenario": a}, "b": {"scenario": b}, "c": 1})]
    assert [x.status_code for x in bad] == [422, 400, 422]
    assert "b" in bad[0].json()["detail"] and "grid" in bad[1].json()["detail"]
