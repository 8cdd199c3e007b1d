"""Signed envelopes and CTF signatures under attack: replay, re-signing, tampering, wrapping.

Every refusal is a JSON problem whose status, type and (for signatures) ``reason`` say which
check failed, and every refused request changes nothing: each table keeps its row count
(transfers, movements, log leaves, lost pupils, access log...) and the recipient's inbox
is as it was.  ``tests/exchange/test_signing.py`` proves the signature primitives against
these tamperings one by one; here they go through the hub and the CLI.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import Actor, envelope, example, movement, post_json

from sendx.exchange.trust.keys import KeyStore, SigningKey
from tests.security.kit import ctf_text, problem, table_counts


def _inbox(client: Any, actor: Actor) -> list[str]:
    return [t["id"] for t in client.get("/v1/inbox?limit=200", headers=actor.headers).json["items"]]


def test_replaying_the_same_envelope_stores_and_logs_nothing_new(client, hub, world) -> None:
    """The same bytes three more times: 200 with the first answer, Idempotent-Replayed, no new row or leaf."""
    a, b = world["school-145832"], world["school-145833"]
    raw = json.dumps(envelope(a, b.id, ctf_text(pupils=2), "ctf"))
    first = client.post("/v1/transfers", data=raw, content_type="application/json", headers=a.headers)
    assert first.status_code == 201 and first.json["logEntries"] == 2
    before, inbox, size = table_counts(hub), _inbox(client, b), _log_size(client, b)
    for _ in range(3):
        again = client.post("/v1/transfers", data=raw, content_type="application/json", headers=a.headers)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json == first.json
    assert table_counts(hub) == before and _inbox(client, b) == inbox == [first.json["id"]]
    assert _log_size(client, b) == size


def _log_size(client: Any, actor: Actor) -> int:
    return client.get("/v1/log/checkpoint", headers=actor.headers).json["size"]


@dataclass(frozen=True)
class Attack:
    """An attack on an accepted movement envelope: who sends what, and the refusal it must get."""

    name: str
    forge: Callable[[dict[str, Any], dict[str, Actor], Any], tuple[Actor, dict[str, Any]]]
    status: int
    type: str
    reason: str | None = None  # SignatureError.reason, for signature failures
    words: str = ""


def _altered(field: str, value: Any) -> Callable[..., tuple[Actor, dict[str, Any]]]:
    """Change one signed field and send it on, signature untouched."""

    def forge(env, world, hub):
        return world["school-145832"], {**env, field: value}

    return forge


def _as(sender_id: str, key_of: str, caller: str) -> Callable[..., tuple[Actor, dict[str, Any]]]:
    """The envelope re-signed with ``key_of``'s key but claiming ``sender_id``, sent by ``caller``."""

    def forge(env, world, hub):
        thief = world[key_of].key
        masquerade = SigningKey(org=sender_id, kid=thief.kid, private_key=thief.private_key)
        body = {k: v for k, v in env.items() if k != "signature"}
        forged = envelope(
            world[sender_id],
            env["recipient"],
            body["document"],
            "movement",
            key=env["idempotencyKey"],
            signing_key=masquerade,
        )
        return world[caller], forged

    return forge


def _signature_from_another_envelope(env, world, hub):
    a = world["school-145832"]
    other = envelope(a, env["recipient"], movement(), "movement")
    return a, {**env, "signature": other["signature"]}


def _resent_by_its_signer(env, world, hub):
    """The signer itself sends the same document again under a new key (a retry gone wrong)."""
    a = world["school-145832"]
    return a, envelope(a, env["recipient"], copy.deepcopy(env["document"]), "movement")


def _same_key_other_document(env, world, hub):
    a = world["school-145832"]
    return a, envelope(a, env["recipient"], movement(), "movement", key=env["idempotencyKey"])


def _signed_by_a_revoked_key(env, world, hub):
    a = world["school-145832"]
    hub.revoke_key(a.key.kid)
    return a, envelope(a, env["recipient"], movement(), "movement")


def _signer_field_mismatch(env, world, hub):
    return world["school-145832"], {**env, "signature": {**env["signature"], "signer": "la-330"}}


def _unsigned(env, world, hub):
    return world["school-145832"], {k: v for k, v in env.items() if k != "signature"}


def _replayed_by_the_recipient(env, world, hub):
    return world["ap-103614"], env


# Eight different checks fail across these attacks, and each answer says which: the sender is not
# the caller; payload altered; unknown key; malformed or revoked signature; no signature; an
# eventId or an idempotency key already used.
ATTACKS = [
    Attack(
        "replayed-by-another-participant", _replayed_by_the_recipient, 403, "forbidden", words="not the authenticated"
    ),
    Attack(
        "new-idempotency-key-without-resigning",
        _altered("idempotencyKey", "idem-attacker-0001"),
        401,
        "bad-signature",
        "payload-altered",
    ),
    Attack(
        "new-envelope-id-without-resigning",
        _altered("envelopeId", "env-attacker-0001"),
        401,
        "bad-signature",
        "payload-altered",
    ),
    Attack("recipient-swapped", _altered("recipient", "school-145833"), 401, "bad-signature", "payload-altered"),
    Attack("sender-swapped", _altered("sender", "ap-103614"), 403, "forbidden", words="not the authenticated"),
    Attack(
        "signature-over-another-document", _signature_from_another_envelope, 401, "bad-signature", "payload-altered"
    ),
    Attack(
        "resigned-by-another-participant-sent-as-itself",
        _as("school-145832", "ap-103614", "ap-103614"),
        403,
        "forbidden",
        words="not the authenticated",
    ),
    Attack(
        "resigned-by-another-participant-with-a-stolen-token",
        _as("school-145832", "ap-103614", "school-145832"),
        401,
        "bad-signature",
        "unknown-key",
    ),
    Attack("signature-signer-field-mismatch", _signer_field_mismatch, 401, "bad-signature", "malformed-signature"),
    Attack("signed-by-a-revoked-key", _signed_by_a_revoked_key, 401, "bad-signature", "revoked-key"),
    Attack("signature-stripped", _unsigned, 422, "invalid-document", words="signature"),
    Attack("same-document-resent-under-a-new-key", _resent_by_its_signer, 409, "conflict", words="eventId"),
    Attack("same-idempotency-key-other-document", _same_key_other_document, 409, "conflict", words="idempotency key"),
]


def test_every_envelope_attack_is_refused_and_changes_nothing(client, hub, world) -> None:
    """Each attack starts from a freshly accepted envelope, on one hub (the revoked key goes last);
    every mismatch is collected and reported, attack by attack."""
    a, ap = world["school-145832"], world["ap-103614"]
    failures = []
    for attack in sorted(ATTACKS, key=lambda x: x.reason == "revoked-key"):
        env = envelope(a, ap.id, movement(), "movement")
        assert post_json(client, "/v1/transfers", env, a).status_code == 201
        caller, forged = attack.forge(copy.deepcopy(env), world, hub)
        before, inbox = table_counts(hub), _inbox(client, ap)
        r = post_json(client, "/v1/transfers", forged, caller)
        body = problem(r)
        answer = (r.status_code, body["type"].rsplit("/", 1)[-1], body.get("reason"))
        if answer != (attack.status, attack.type, attack.reason) or attack.words not in json.dumps(body):
            failures.append(f"{attack.name}: {answer} {body['detail']}")
        if table_counts(hub) != before or _inbox(client, ap) != inbox:
            failures.append(f"{attack.name}: the hub changed")
    assert not failures, "\n".join(failures)


def test_a_ctf_resigned_by_another_school_is_refused(client, hub, world) -> None:
    """Riverside re-signs Kingsbridge's CTF as its own sender: the file's source school is not Riverside."""
    b = world["school-145833"]
    before = table_counts(hub)
    r = post_json(client, "/v1/transfers", envelope(b, "school-145832", ctf_text(), "ctf"), b)
    assert r.status_code == 403 and "source school" in problem(r)["detail"]
    assert table_counts(hub) == before


# --------------------------------------------------------------------------- CTF signature wrapping


def _first_pupil(xml: str) -> str:
    match = re.search(r"    <Pupil>.*?</Pupil>\n", xml, re.S)
    assert match is not None
    return match.group(0)


def _extra_pupil(xml: str) -> str:
    pupil = _first_pupil(xml).replace("<Surname>", "<Surname>Wrapped", 1)
    return xml.replace("  </CTFpupilData>", pupil + "  </CTFpupilData>", 1)


def _second_pupil_data(xml: str) -> str:
    return xml.replace("</CTfile>", "  <CTFpupilData>\n" + _first_pupil(xml) + "  </CTFpupilData>\n</CTfile>", 1)


def _comment_in_upn(xml: str) -> str:
    return re.sub(r"<UPN>(\w{4})", r"<UPN>\1<!-- -->", xml, count=1)


WRAPPING = {
    "extra-pupil-appended": _extra_pupil,
    "ctfpupildata-duplicated": _second_pupil_data,
    "comment-injected-in-upn": _comment_in_upn,
    "whitespace-changed": lambda xml: xml.replace("\n      <", "\n        <"),
    "cdata-equivalent": lambda xml: xml.replace("<Forename>", "<Forename><![CDATA[", 1).replace(
        "</Forename>", "]]></Forename>", 1
    ),
}


def test_wrapping_attacks_change_the_file(tmp_path: Path) -> None:
    """Each manipulation really changes the bytes, and the result is still well-formed CTF XML."""
    from sendx import validators

    xml = ctf_text(pupils=2)
    for name, wrap in WRAPPING.items():
        wrapped = wrap(xml)
        assert wrapped != xml, name
        assert not any(i.rule == "DOC-PARSE" for i in validators.validate(wrapped.encode()).issues), name


@pytest.mark.parametrize("name", sorted(WRAPPING))
def test_cli_verify_refuses_a_wrapped_ctf(name: str, tmp_path: Path, run_cli) -> None:
    """sendx verify of a detached CTF signature: exit 1, reason payload-altered, for every wrapping."""
    home = tmp_path / "home"
    KeyStore(home).generate("school-145832")
    path = tmp_path / "leaver.xml"
    path.write_text(ctf_text(pupils=2), encoding="utf-8")
    assert run_cli("sign", path, "--home", home).exit_code == 0
    assert run_cli("verify", path, "--home", home).exit_code == 0
    path.write_text(WRAPPING[name](path.read_text(encoding="utf-8")), encoding="utf-8")
    result = run_cli("verify", path, "--home", home, "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["reason"] == "payload-altered", result.output


def test_hub_refuses_every_wrapped_ctf(client, hub, world) -> None:
    """A CTF envelope, signed, then the XML inside wrapped: 401 payload-altered each time, nothing stored."""
    a = world["school-145832"]
    env = envelope(a, "school-145833", ctf_text(pupils=2), "ctf")
    before = table_counts(hub)
    for name, wrap in WRAPPING.items():
        r = post_json(client, "/v1/transfers", {**env, "document": wrap(env["document"])}, a)
        assert r.status_code == 401 and problem(r)["reason"] == "payload-altered", (name, r.json)
    assert table_counts(hub) == before
    assert post_json(client, "/v1/transfers", env, a).status_code == 201  # the untouched envelope is fine


def test_example_documents_are_what_the_cast_signs() -> None:
    """Sanity: the EHCP and movement examples used above are valid, so refusals are the attacks'."""
    from sendx import validators

    assert validators.validate(example("ehcp")).valid and validators.validate(movement()).valid


def _dated(actor: Actor, to: str, created: str, signed_at: Any) -> dict[str, Any]:
    """A movement envelope made at ``created`` whose signature says it was made at ``signed_at``."""
    from sendx.exchange.trust.signing import sign_envelope

    body = {k: v for k, v in envelope(actor, to, movement(), "movement").items() if k != "signature"}
    return sign_envelope({**body, "created": created}, actor.key, signed_at=signed_at)


def test_a_signature_dated_2001_is_refused(client, hub, world) -> None:
    """A signature dated long before its envelope was made: back-dated (say, to before a revocation)."""
    import datetime as dt

    a, b = world["school-145832"], world["ap-103614"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    env = _dated(a, b.id, now.isoformat().replace("+00:00", "Z"), dt.datetime(2001, 9, 1, tzinfo=dt.UTC))
    before = table_counts(hub)
    r = post_json(client, "/v1/transfers", env, a)
    assert r.status_code == 422 and problem(r)["type"].endswith("/stale-signature")
    assert problem(r)["instance"] == "/signature/signedAt" and "2001-09-01" in problem(r)["detail"]
    assert table_counts(hub) == before and _inbox(client, b) == []


def test_a_signature_within_the_window_before_created_is_accepted(client, hub, world) -> None:
    import datetime as dt

    a, b = world["school-145832"], world["ap-103614"]
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    inside = _dated(a, b.id, created.isoformat(), created - dt.timedelta(minutes=14))
    assert post_json(client, "/v1/transfers", inside, a).status_code == 201
    outside = _dated(a, b.id, created.isoformat(), created - dt.timedelta(minutes=16))
    assert post_json(client, "/v1/transfers", outside, a).status_code == 422


def test_the_signed_at_window_is_configured(tmp_path) -> None:
    """SENDX_SIGNED_AT_WINDOW=0: a signature may not be older than its envelope at all."""
    import datetime as dt

    from hub_helpers import register_cast

    from sendx.exchange.hub import create_app

    app = create_app({"SENDX_HOME": str(tmp_path), "SENDX_SIGNED_AT_WINDOW": "0", "TESTING": True})
    try:
        client, cast = app.test_client(), register_cast(app.extensions["sendx.hub"])
        a, b = cast["school-145832"], cast["ap-103614"]
        created = dt.datetime.now(dt.UTC).replace(microsecond=0)
        late = _dated(a, b.id, created.isoformat(), created - dt.timedelta(seconds=1))
        assert post_json(client, "/v1/transfers", late, a).status_code == 422
        same = _dated(a, b.id, created.isoformat(), created)
        assert post_json(client, "/v1/transfers", same, a).status_code == 201
    finally:
        app.extensions["sendx.hub"].store.dispose()
