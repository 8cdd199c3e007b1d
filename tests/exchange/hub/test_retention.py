"""Retention: a movement's details are erased after its period, its log entry stays verifiable,
and the erasure is in the access log."""

from __future__ import annotations

import datetime as dt

import pytest
from hub_helpers import movement, page_csrf, post_json, sign_in
from sqlalchemy import select

from sendx.exchange.hub.service.retention import ERASED, retain_until
from sendx.exchange.log.verify import verify_log
from sendx.exchange.store import AreaMovement, AreaPlacement, AreaUnknown, Movement
from sendx.exchange.store.lognodes import open_log
from sendx.validators.errors import ConfigError


def test_the_period_runs_from_the_date_of_birth_else_from_the_movement() -> None:
    event = {"effectiveDate": "2026-01-05", "pupil": {"upn": "A123456789012"}}
    assert retain_until(event, 25) == dt.date(2051, 1, 5)
    born = {**event, "pupil": {"upn": "A123456789012", "dateOfBirth": "2012-02-29"}}
    assert retain_until(born, 25) == dt.date(2037, 2, 28)
    assert retain_until({**event, "pupil": {"dateOfBirth": "not a date"}}, 25) == dt.date(2051, 1, 5)


def test_retention_years_are_configurable_within_bounds(tmp_path) -> None:
    from sendx.exchange.hub.config import load_config

    assert load_config({"SENDX_HOME": str(tmp_path)}).retention_years == 25
    assert load_config({"SENDX_HOME": str(tmp_path), "SENDX_RETENTION_YEARS": "7"}).retention_years == 7
    with pytest.raises(ConfigError):
        load_config({"SENDX_HOME": str(tmp_path), "SENDX_RETENTION_YEARS": "0"})


def test_dry_run_then_apply_erases_details_keeps_the_log_and_records_it(client, hub, world, run_cli, monkeypatch):
    school, la = world["school-145832"], world["la-330"]
    born = movement(effectiveDate="2025-09-01")
    born["pupil"] = {**born["pupil"], "dateOfBirth": "1990-03-01"}  # past date of birth + 25 already
    recent = movement(effectiveDate="2025-09-01")  # no date of birth: kept until 2050-09-01
    indices = {}
    for name, doc in (("born", born), ("recent", recent)):
        doc["recordedBy"] = {"participant": school.id}
        r = post_json(client, "/v1/movements", doc, school)
        assert r.status_code == 201, r.json
        indices[name] = r.json["logIndex"]
    with hub.store.read() as s:
        log = open_log(s)
        note, size = log.checkpoint(hub.log_signer, hub.log_origin), log.size
        before = verify_log(log, note, hub.log_signer.verifier()).state

    monkeypatch.setenv("SENDX_HOME", str(hub.config.home))
    monkeypatch.setenv("SENDX_DATABASE_URL", hub.store.url)
    dry = run_cli("admin", "retention", "--dry-run", "--as-of", "2026-06-01")
    assert dry.exit_code == 0, dry.output
    assert "1 movement(s) past retention" in dry.output and "dry run: nothing was changed" in dry.output
    assert f"log entries: {indices['born']}\n" in dry.output
    assert "2 movement(s) past retention" in run_cli("admin", "retention", "--dry-run", "--as-of", "2050-09-02").output
    assert len(client.get("/v1/movements", headers=la.headers).json["items"]) == 2
    assert run_cli("admin", "retention").exit_code == 2  # neither flag: a usage error

    applied = run_cli("admin", "retention", "--apply", "--as-of", "2026-06-01")
    assert applied.exit_code == 0 and "erased the details of 1" in applied.output

    api = client.get("/v1/movements", headers=la.headers).json
    assert [i["logIndex"] for i in api["items"]] == [indices["recent"]]
    assert [e["logIndex"] for e in api["erased"]] == [indices["born"]]
    with hub.store.read() as s:
        gone = s.scalars(select(Movement).where(Movement.log_index == indices["born"])).one()
        assert (gone.ciphertext, gone.salt, gone.upn_hash, gone.from_urn) == (b"", b"", "", None)
        indexed = s.execute(select(AreaMovement).where(AreaMovement.movement_id == gone.id)).scalars().all()
        assert indexed and all((a.said, a.from_setting, a.to_setting) == (None, None, None) for a in indexed)
        started = s.scalars(select(AreaPlacement.upn_hash).where(AreaPlacement.start_movement_id == gone.id)).all()
        assert started and set(started) == {""}  # the placement it began is counted, nobody's
        assert set(s.scalars(select(AreaUnknown.upn_hash).where(AreaUnknown.movement_id == gone.id))) <= {""}
        log = open_log(s)
        assert log.size == size  # nothing appended, nothing removed: the entries and tree are as they were
        later = verify_log(log, log.checkpoint(hub.log_signer, hub.log_origin), hub.log_signer.verifier(), before)
    assert later.ok
    reads = client.get("/v1/access-log", headers=la.headers).json["items"]
    erasures = [r for r in reads if r["action"] == ERASED]
    assert [r["logIndex"] for r in erasures] == [indices["born"]]
    assert all(r["participant"] is None for r in erasures)
    # Nothing left to erase, and the receipt of an erased movement no longer opens it.
    again = run_cli("admin", "retention", "--apply", "--as-of", "2026-06-01")
    assert "0 movement(s) past retention" in again.output
    receipt = client.get(f"/v1/log/receipt?index={indices['born']}", headers=la.headers).get_data(as_text=True)
    assert "\nextra " not in receipt
    # LA 330's audit of its area still passes: an erased movement is reported erased, not missing.
    sign_in(client, la)
    verdict = client.post("/la/log/verify", data={"csrf_token": page_csrf(client)}).get_data(as_text=True)
    assert "Verified" in verdict and "the 2 naming 330 are the movements your pages show" in verdict
