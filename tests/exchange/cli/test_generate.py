"""``sendx generate``: synthetic CTFs, EHC plans and passports that sendx itself accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sendx import validators


def test_generate_a_ctf_to_a_file_that_validates(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "big.xml"
    r = run_cli("generate", "ctf", "--count", "400", "--seed", "4", "-o", out)
    assert r.exit_code == 0 and "wrote a CTF of 400 pupils" in r.output
    report = validators.validate(out)
    assert report.kind == "ctf" and report.valid and out.read_bytes().count(b"<Pupil>") == 400
    again = run_cli("generate", "ctf", "--count", "400", "--seed", "4")
    assert again.stdout_bytes == out.read_bytes()


def test_generate_a_lost_pupil_ctf(run_cli) -> None:
    r = run_cli("generate", "ctf", "--from", "3304001", "--to", "XXXXXXX")
    assert r.exit_code == 0 and b"<Estab>XXXX</Estab>" in r.stdout_bytes
    bad = run_cli("generate", "ctf", "--to", "12")
    assert bad.exit_code == 2 and "'12' is not a LAESTAB" in bad.output


def test_a_ctf_over_the_size_limit_is_refused_and_not_left_behind(tmp_path: Path) -> None:
    out = tmp_path / "huge.xml"
    r = subprocess.run(
        [sys.executable, "-m", "sendx.exchange", "generate", "ctf", "--count", "2000", "-o", str(out)],
        capture_output=True,
        env={**os.environ, "SENDX_MAX_CTF_BYTES": "200000"},
        timeout=120,
    )
    assert r.returncode == 2 and b"CTF size limit of 200,000 bytes" in r.stderr and not out.exists()


@pytest.mark.parametrize(("kind", "name"), [("ehcp", "planId"), ("passport", "passportId"), ("movements", "eventId")])
def test_generate_json_documents_one_file_each(run_cli, tmp_path: Path, kind: str, name: str) -> None:
    out = tmp_path / kind
    r = run_cli("generate", kind, "--count", "5", "--seed", "9", "-o", out)
    assert r.exit_code == 0, r.output
    files = sorted(out.glob("*.json"))
    assert len(files) == 5
    for f in files:
        report = validators.validate(f)
        assert report.kind == kind.rstrip("s") and report.valid, [i.to_dict() for i in report.issues]
        assert f.stem == json.loads(f.read_text())[name]


@pytest.mark.parametrize("kind", ["ehcp", "passport", "movements"])
def test_generate_json_to_stdout(run_cli, kind: str) -> None:
    one = run_cli("generate", kind, "--as-of", "2026-10-01")
    assert validators.validate(one.stdout.encode()).valid
    lines = run_cli("generate", kind, "--count", "3").stdout.splitlines()
    assert len(lines) == 3 and all(validators.validate(line.encode()).valid for line in lines)


def test_generate_movements_touch_the_area_asked_the_same_for_the_same_seed(run_cli) -> None:
    first = run_cli("generate", "movements", "--count", "40", "--seed", "4", "--la", "331", "--as-of", "2026-10-01")
    again = run_cli("generate", "movements", "--count", "40", "--seed", "4", "--la", "331", "--as-of", "2026-10-01")
    events = [json.loads(line) for line in first.stdout.splitlines()]
    assert first.stdout == again.stdout and len(events) == 40
    assert all(validators.validate(e, "movement").valid for e in events)
    ends = [e.get(k) or {} for e in events for k in ("from", "to")]
    assert all(any(end.get("la") == "331" for end in (e.get("from") or {}, e.get("to") or {})) for e in events), ends[
        :4
    ]
    assert all("2023-09-01" <= e["effectiveDate"] < "2026-09-01" for e in events)
