"""Property-based API testing of ``svitlo serve`` against its own OpenAPI schema (schemathesis + hypothesis).

For requests generated from the schema, valid and invalid alike: never a 5xx; every 4xx is JSON with a message;
data the schema forbids is refused. Then the attacks the schema cannot express: path traversal in every field
that names a file, oversize and malformed bodies. Fixed example budgets and a fixed seed keep the run short.
"""

from __future__ import annotations

import json
import re

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import negative_data_rejection, not_a_server_error  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

from svitlo.web.app import ServerConfig, create_app  # noqa: E402

_STORE = None


def _app():
    import tempfile
    from pathlib import Path

    global _STORE
    root = Path(tempfile.mkdtemp(prefix="svitlo-st-"))
    (root / "data").mkdir()
    (root / "data" / "s.yaml").write_text("grid: case9\nstrikes: [{assets: [line:3]}]\n")
    _STORE = root / "store"
    return create_app(ServerConfig(data_dir=root / "data", store_dir=_STORE, workers=2, max_sweep_n=30))


APP = _app()
_cfg = SchemathesisConfig()
_cfg.projects.default.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=_cfg)


def _message_on_4xx(ctx, response, case) -> None:
    if 400 <= response.status_code < 500:
        body = json.loads(response.content or b"{}")
        assert isinstance(body.get("detail"), str) and body["detail"], \
            f"{case.method} {case.path}: {response.status_code} without a message: {response.content[:200]!r}"


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_never_fails_on_generated_requests(case):
    response = case.call_and_validate(checks=[not_a_server_error, negative_data_rejection], timeout=300)
    _message_on_4xx(None, response, case)


@pytest.fixture(scope="module", autouse=True)
def _stop_sweeps():
    yield
    APP.state.jobs.close()


@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    with TestClient(APP) as c:
        yield c


TRAVERSALS = ["../../etc/passwd", "/etc/passwd", "..", "../", "s.yaml/../../x.m", "~root/x.m", "a\x00b.m",
              "....//....//etc/passwd", "..\\..\\x.m", "%2e%2e/%2e%2e/etc/passwd.m"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_is_refused_everywhere(client, name):
    bodies = [
        {"scenario": {"grid": {"file": name}}},
        {"scenario": {"grid": name if name.endswith(".m") else name + ".m"}},
        {"scenario": {"grid": "case9", "facilities": name}},
        {"scenario": {"grid": {"matpower": name}}},
        {"scenario": {"grid": "case9"}, "scenario_file": name},
    ]
    for route in ("/api/assess", "/api/map", "/api/simulate"):
        for body in bodies:
            r = client.post(route, json=body)
            assert r.status_code == 400, (route, body, r.status_code, r.text)
            assert r.json()["detail"]
    for body in bodies:   # either side of a comparison
        for pair in ({"a": body, "b": {"scenario": {"grid": "case9"}}}, {"a": {"scenario": {"grid": "case9"}},
                                                                        "b": body}):
            r = client.post("/api/compare", json=pair)
            assert r.status_code == 400 and r.json()["detail"], (pair, r.status_code, r.text)
    r = client.get("/api/scenario-file", params={"name": name})
    assert r.status_code in (400, 422) and r.json()["detail"]
    r = client.post("/api/sweeps", json={"scenario": {"grid": "case9"}, "n": 2, "run": name})
    assert r.status_code == 422
    root = _STORE.parent   # nothing written but run folders in the store (the generated sweeps' own)
    assert sorted(p.name for p in root.iterdir()) in (["data"], ["data", "store"])
    assert [p.name for p in (root / "data").iterdir()] == ["s.yaml"]
    if _STORE.exists():
        assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", p.name) and p.is_dir() for p in _STORE.iterdir())


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b'{"scenario": NaN}', b"\xff\xfe",
                                  b'{"scenario": {"grid": "case9", "horizon_h": 1e400}}',
                                  b'{"scenario": {"grid": "case9", "strikes": [{"assets": [' + b'"x",' * 5000
                                  + b'"y"]}]}}'])
def test_malformed_json_is_refused(client, body):
    r = client.post("/api/assess", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (body[:40], r.status_code, r.text)
    assert r.json()["detail"]


def test_oversize_body_is_refused(client):
    r = client.post("/api/simulate", content=b" " * 2_000_000, headers={"content-type": "application/json"})
    assert r.status_code == 413
