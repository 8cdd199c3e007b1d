"""``sendx convert``: standard input, and size limits that accept whatever sendx itself writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lxml import etree

from sendx import schemas
from sendx.exchange.synth.ctf import synthetic_ctf

CTF = schemas.examples("ctf")[0]


def _sendx(*args: object, env: dict[str, str] | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """The installed command in a process of its own, so that size settings are read as a user sets them."""
    return subprocess.run(
        [sys.executable, "-m", "sendx.exchange", *map(str, args)],
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def _c14n(data: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(data, parser), method="c14n")


def test_convert_reads_standard_input(run_cli) -> None:
    result = run_cli("convert", "-", "--to", "pupil-json", input=CTF.read_bytes())
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["$schema"] == "https://schemas.sendx.org.uk/ctf-pupils/v1" and len(doc["pupils"]) == 2
    back = run_cli("convert", "-", "--to", "ctf", input=result.stdout)
    assert back.exit_code == 0 and _c14n(back.stdout_bytes) == _c14n(CTF.read_bytes())


def test_convert_from_standard_input_names_it_in_errors(run_cli) -> None:
    result = run_cli("convert", "-", "--to", "ctf", input=b'{"hello": "world"}')
    assert result.exit_code == 2 and "cannot convert json to ctf" in result.stderr and "<stdin>" in result.stderr


def test_a_ctf_at_the_limit_converts_to_json_and_back(tmp_path: Path) -> None:
    # The CTF limit set to this very file's size, the JSON limit far below its JSON form: what
    # sendx writes from the CTF must be accepted back, by validate and by convert.
    ctf = tmp_path / "big.xml"
    ctf.write_bytes(synthetic_ctf(300, seed=5))
    env = {"SENDX_MAX_CTF_BYTES": str(ctf.stat().st_size), "SENDX_MAX_JSON_BYTES": "100000"}
    pupils = tmp_path / "pupils.json"
    made = _sendx("convert", ctf, "--to", "pupil-json", "-o", pupils, env=env)
    assert made.returncode == 0, made.stderr
    assert pupils.stat().st_size > 100_000  # so the JSON limit alone would have refused it
    checked = _sendx("validate", pupils, env=env)
    assert checked.returncode == 0 and b"pupil-json: valid" in checked.stdout, checked.stdout + checked.stderr
    back = _sendx("convert", pupils, "--to", "ctf", env=env)
    assert back.returncode == 0, back.stderr
    assert _c14n(back.stdout) == _c14n(ctf.read_bytes())


def test_other_json_keeps_its_own_limit(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(schemas.examples("ehcp")[0].read_bytes())
    result = _sendx("validate", plan, env={"SENDX_MAX_JSON_BYTES": "1024", "SENDX_MAX_CTF_BYTES": str(10**9)})
    assert result.returncode == 1 and b"more than the limit of 1,024" in result.stdout


def test_convert_refuses_to_write_what_sendx_would_not_read_back(tmp_path: Path) -> None:
    ctf = tmp_path / "c.xml"
    ctf.write_bytes(synthetic_ctf(3, seed=1))
    out = tmp_path / "p.json"
    # A CTF limit so small that the (larger) pupil JSON cannot be within twice of it.
    result = _sendx("convert", ctf, "--to", "pupil-json", "-o", out, env={"SENDX_MAX_CTF_BYTES": "4096"})
    assert result.returncode == 2 and not out.exists()
    assert b"more than the limit" in result.stderr or b"more than sendx reads back" in result.stderr
    assert b"SENDX_MAX_CTF_BYTES" in result.stderr


def test_a_bad_size_setting_is_a_clear_error() -> None:
    result = _sendx("validate", schemas.examples("ehcp")[0], env={"SENDX_MAX_JSON_BYTES": "lots"})
    assert result.returncode == 2 and b"SENDX_MAX_JSON_BYTES must be a whole number of bytes" in result.stderr
    assert b"Traceback" not in result.stderr


def test_a_bad_ctf_size_setting_is_a_clear_error() -> None:
    result = _sendx("validate", CTF, env={"SENDX_MAX_CTF_BYTES": "12"})
    assert (
        result.returncode == 2
        and b"SENDX_MAX_CTF_BYTES must be a whole number of bytes, at least 1024" in result.stderr
    )
    assert b"Traceback" not in result.stderr
