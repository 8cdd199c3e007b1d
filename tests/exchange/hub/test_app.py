"""The app shell: JSON errors everywhere, the OpenAPI document matches the routes, secrets on disk."""

from __future__ import annotations

import re
import stat

import pytest
from hub_helpers import example


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_matches_routes(app, client):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    routes = {
        (_openapi_path(r.rule), m.lower())
        for r in app.url_map.iter_rules()
        if r.rule.startswith(("/v1", "/fhir"))
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method) for path, ops in spec["paths"].items() if path.startswith(("/v1", "/fhir")) for method in ops
    }
    assert routes == documented
    for path, ops in spec["paths"].items():
        params = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == params, (path, method)


@pytest.mark.parametrize(
    "method,url,status",
    [("get", "/nope", 404), ("delete", "/v1/inbox", 405), ("put", "/v1/transfers", 405), ("get", "/v1/transfers", 405)],
)
def test_http_errors_are_problem_json(client, method, url, status):
    r = getattr(client, method)(url)
    assert r.status_code == status
    assert r.mimetype == "application/problem+json" and r.json["status"] == status


def test_bad_tokens_401(client, world):
    for header in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = client.get("/v1/inbox", headers=header)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_unexpected_error_is_json_500(app, client, world, monkeypatch):
    hub = app.extensions["sendx.hub"]
    monkeypatch.setattr(hub, "inbox", lambda *a, **k: 1 / 0)
    r = client.get("/v1/inbox", headers=world["la-330"].headers)
    assert r.status_code == 500 and r.mimetype == "application/problem+json"
    assert "ZeroDivision" not in r.get_data(as_text=True)


def test_secrets_created_private(app, tmp_path):
    home = tmp_path / "home"
    for name in ("storage.key", "log.key"):
        mode = stat.S_IMODE((home / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))


def test_tokens_stored_hashed(hub, world):
    from exchange.store import ApiToken

    with hub.store.read() as s:
        hashes = {t.token_hash for t in s.query(ApiToken)}
    tokens = {a.token for a in world.values()}
    assert not hashes & tokens and all(len(h) == 64 for h in hashes)


def test_validate_endpoint(client, world):
    la = world["la-330"]
    ok = client.post("/v1/validate", json=example("ehcp"), headers=la.headers)
    assert ok.status_code == 200 and ok.json["valid"] is True and ok.json["kind"] == "ehcp"
    bad = example("movement", "ap-placement-start")
    bad["pupil"]["upn"] = "N330200119044"
    r = client.post("/v1/validate", json=bad, headers=la.headers)
    assert r.status_code == 200 and r.json["valid"] is False and "ID-UPN" in {i["rule"] for i in r.json["issues"]}
    xml = client.post("/v1/validate", data=b"<CTfile/>", content_type="application/xml", headers=la.headers)
    assert xml.status_code == 200 and xml.json["valid"] is False
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><CTfile>&a;</CTfile>'
    r = client.post("/v1/validate", data=bomb, content_type="application/xml", headers=la.headers)
    assert r.status_code == 200 and r.json["valid"] is False
    assert client.post("/v1/validate", data="x", content_type="text/plain", headers=la.headers).status_code == 415


def test_fhir_validate_returns_operation_outcome(client, world):
    h = world["health-RXH"]
    r = client.post("/fhir/$validate", json={"resourceType": "Bundle", "type": "document"}, headers=h.headers)
    assert r.status_code == 200 and r.mimetype == "application/fhir+json"
    assert r.json["resourceType"] == "OperationOutcome" and r.json["issue"]
    params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": example("ehcp")}]}
    r = client.post("/fhir/$validate", json=params, headers=h.headers, content_type="application/fhir+json")
    assert r.status_code == 200 and r.json["resourceType"] == "OperationOutcome"
