"""C2SP signed notes and tlog checkpoints: the spec's own example, round trips, strict parsing."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendx.exchange.log.checkpoint import (
    Checkpoint,
    Signer,
    Verifier,
    key_id,
    open_note,
    parse_note,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
)
from sendx.exchange.log.merkle import ProofError
from sendx.validators.errors import InputError


@pytest.fixture
def example(shared_dir: Path) -> tuple[str, Verifier]:
    folder = shared_dir / "tlog"
    note = (folder / "c2sp-signed-note-example.txt").read_text(encoding="utf-8")
    vkey = (folder / "c2sp-signed-note-example.vkey").read_text(encoding="utf-8")
    return note, Verifier.from_text(vkey)


def test_c2sp_example_verifies(example: tuple[str, Verifier]) -> None:
    note, verifier = example
    assert verifier.key_id.hex() == "530d903a"
    text, verified = open_note(note, [verifier])
    assert text == "This is an example message.\n"
    assert verified == (verifier,)


def test_c2sp_example_tampered_fails(example: tuple[str, Verifier]) -> None:
    note, verifier = example
    with pytest.raises(ProofError, match="does not verify"):
        open_note(note.replace("example message", "exemplary message"), [verifier])


def test_unknown_signer_is_refused(example: tuple[str, Verifier]) -> None:
    note, _ = example
    other = Signer.generate("example.com/bar").verifier()
    with pytest.raises(ProofError, match="no signature from a trusted key"):
        open_note(note, [other])
    # Same name, different key: the key id differs, so it is unknown too.
    impostor = Signer.generate("example.com/foo").verifier()
    with pytest.raises(ProofError):
        open_note(note, [impostor])


def test_key_text_round_trip_and_key_id() -> None:
    signer = Signer.generate("hub.example/log")
    again = Signer.from_text(signer.to_text())
    assert again.public_key == signer.public_key
    verifier = Verifier.from_text(signer.verifier().to_text())
    assert verifier == signer.verifier()
    assert verifier.key_id == key_id("hub.example/log", signer.public_key)
    name, hex_id, _ = verifier.to_text().split("+", 2)
    assert (name, hex_id) == ("hub.example/log", signer.key_id.hex())


@pytest.mark.parametrize(
    "text",
    [
        "example.com+530d903a",
        "example.com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong id for name
        "example.com/foo+530d903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong algorithm byte
        "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530d903a+not-base64!",
    ],
)
def test_malformed_verifier_keys(text: str) -> None:
    with pytest.raises(InputError):
        Verifier.from_text(text)


def test_checkpoint_round_trip_and_signature() -> None:
    signer = Signer.generate("hub.example/log")
    cp = Checkpoint("hub.example/log", 12345, bytes(range(32)), ("extension line",))
    assert Checkpoint.from_note(cp.to_note()) == cp
    assert Checkpoint.from_dict(cp.to_dict()) == cp
    note = sign_checkpoint(cp, signer)
    assert note.startswith("hub.example/log\n12345\n" + base64.b64encode(bytes(range(32))).decode() + "\n")
    assert "\n\n\u2014 hub.example/log " in note
    assert verify_checkpoint(note, signer.verifier(), origin="hub.example/log") == cp
    with pytest.raises(ProofError, match="expected"):
        verify_checkpoint(note, signer.verifier(), origin="other.example/log")
    tampered = note.replace("\n12345\n", "\n12346\n")
    with pytest.raises(ProofError):
        verify_checkpoint(tampered, signer.verifier())


def test_cosignatures_from_unknown_keys_are_ignored() -> None:
    log, witness = Signer.generate("hub.example/log"), Signer.generate("witness.example")
    cp = Checkpoint("hub.example/log", 3, b"\x07" * 32)
    note = sign_note(cp.to_note(), [log, witness])
    assert verify_checkpoint(note, log.verifier()) == cp
    assert len(parse_note(note).signatures) == 2


@pytest.mark.parametrize(
    "body",
    [
        "origin\n012\n" + base64.b64encode(b"\0" * 32).decode() + "\n",  # leading zero
        "origin\n-1\n" + base64.b64encode(b"\0" * 32).decode() + "\n",
        "origin\n12\n" + base64.b64encode(b"\0" * 31).decode() + "\n",  # short root
        "origin\n12\n" + base64.b64encode(b"\0" * 32).decode().rstrip("=") + "\n",  # unpadded
        "origin\n12\n",  # no root
        "\n12\n" + base64.b64encode(b"\0" * 32).decode() + "\n",  # empty origin
        "origin\n12\n" + base64.b64encode(b"\0" * 32).decode(),  # no final newline
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(InputError):
        Checkpoint.from_note(body)


def _signed(text: str = "hello\n") -> tuple[str, Signer]:
    signer = Signer.generate("k")
    return sign_note(text, [signer]), signer


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\u2014 ", "- "),  # hyphen instead of em dash
        lambda n: n.rstrip("\n"),  # no final newline
        lambda n: n.replace("\n\n", "\n"),  # no blank line
        lambda n: n + n[n.index("\u2014") :],  # the same key's signature twice: ambiguous
        lambda n: n.replace("hello", "hel\x07lo"),  # control character
        lambda n: n + "\u2014 k AAAA\n",  # too short to hold a key id
        lambda n: n + "\u2014 k  AAAAAAA=\n",  # double space
        lambda n: "hello\n\n",  # no signatures at all
    ],
)
def test_malformed_notes_are_refused(mangle) -> None:
    note, signer = _signed()
    with pytest.raises(InputError):
        open_note(mangle(note), [signer.verifier()])


def test_note_bytes_must_be_utf8() -> None:
    with pytest.raises(InputError):
        parse_note(b"\xff\xfe\n\n\xe2\x80\x94 k AAAAAAA=\n")


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.binary(min_size=32, max_size=32),
)
def test_checkpoint_note_round_trip_property(origin: str, size: int, root: bytes) -> None:
    cp = Checkpoint(origin, size, root)
    assert Checkpoint.from_note(cp.to_note()) == cp
