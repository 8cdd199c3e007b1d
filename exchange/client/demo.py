"""``sendx demo``: the main job, told as a story on the embedded SQLite default (SPEC §9).

A real hub (the same Flask app ``sendx serve`` runs) is started on a local port over a fresh
SQLite data directory; six participants talk to it over HTTP with the same client, envelopes
and signatures the CLI uses.  Every step prints what happened and checks its own result, so
the demo doubles as an end-to-end smoke test.  The data directory is left behind so the
exchange can be browsed afterwards with ``sendx serve`` and the LA pages.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sendx import schemas, validators
from sendx.exchange.home import private_dir, write_private
from sendx.validators.errors import InputError
from sendx.validators.report import Report

__all__ = ["DEMO_PARTICIPANTS", "DemoResult", "default_demo_home", "run_demo"]

Echo = Callable[[str], None]

#: Marks a directory as the demo's own, so a re-run may wipe it and nothing else.
_MARKER = ".sendx-demo"
_COVENTRY_EVENT = "MV-2026-COV-0001"
#: The demo's participants: (id, role, name, identifiers).  Synthetic organisations only.
DEMO_PARTICIPANTS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("school-145832", "school", "Kingsbridge Academy", {"urn": "145832", "laestab": "3304001", "la": "330"}),
    ("school-145901", "school", "Riverside Academy", {"urn": "145901", "laestab": "3304002", "la": "330"}),
    ("ap-103614", "school", "Northfield Pupil Referral Unit", {"urn": "103614", "laestab": "3301100", "la": "330"}),
    ("college-10012345", "college", "Northfield College", {"ukprn": "10012345"}),
    ("nhs-RYW", "health", "Birmingham Community Healthcare NHS Foundation Trust", {"ods": "RYW"}),
    ("la-330", "la", "Birmingham City Council", {"la": "330"}),
    ("la-331", "la", "Coventry City Council", {"la": "331"}),
)


@dataclass
class DemoResult:
    """What the demo did, for tests and for the closing summary."""

    home: Path | None = None
    reports: list[Report] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    transfers: dict[str, str] = field(default_factory=dict)  # what → transfer id
    log_size: int = 0
    log_verified: bool = False

    @property
    def ok(self) -> bool:
        return all(r.valid for r in self.reports) and self.log_verified


def default_demo_home() -> Path:
    """``<data directory>/demo``: beside, never inside, a real hub's data."""
    from sendx.exchange.home import default_home

    return default_home() / "demo"


def _fresh_home(home: Path) -> Path:
    """Empty ``home`` for the demo; refuse to wipe a directory the demo did not create."""
    if home.exists() and any(home.iterdir()):
        if not (home / _MARKER).exists():
            raise InputError(
                "the demo directory exists and was not made by the demo; refusing to overwrite it",
                where=str(home),
                hint="pass --home with a new or empty directory",
            )
        shutil.rmtree(home)
    private_dir(home)
    write_private(home / _MARKER, b"made by `sendx demo`; safe to delete\n")
    return home


@dataclass
class _World:
    """The running hub and one signed-in client per participant."""

    home: Path
    url: str
    hub: Any
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, Any] = field(default_factory=dict)

    def send(self, sender: str, document: Any, kind: str, recipient: str) -> dict[str, Any]:
        from sendx.exchange.client.hubclient import make_envelope

        envelope = make_envelope(document, kind, sender_key=self.keys[sender], recipient=recipient)
        return self.clients[sender].send(envelope)

    def receive(self, recipient: str, tid: str) -> Any:
        """Fetch, verify the sender's signature, acknowledge; return the document."""
        from sendx.exchange.client.hubclient import verify_fetched

        client = self.clients[recipient]
        transfer = client.transfer(tid)
        verify_fetched(client, transfer)
        client.ack(tid)
        return transfer["envelope"]["document"]


@contextmanager
def _running_hub(home: Path) -> Iterator[_World]:
    """The hub app on 127.0.0.1 (a free port) over SQLite in ``home``, for the demo's length."""
    from sendx.exchange.client.hubclient import HubClient
    from sendx.exchange.hub import create_app
    from sendx.exchange.hub.server import local_server
    from sendx.exchange.trust.keys import KeyStore

    config = {"SENDX_HOME": str(home), "SENDX_DATABASE_URL": f"sqlite:///{home / 'hub.sqlite'}"}
    app = create_app(config)
    hub = app.extensions["sendx.hub"]
    server = local_server(app, quiet=True)
    thread = threading.Thread(target=server.serve_forever, name="sendx-demo-hub", daemon=True)
    thread.start()
    world = _World(home, f"http://127.0.0.1:{server.server_port}", hub)
    store = KeyStore(home)
    for pid, role, name, ids in DEMO_PARTICIPANTS:
        hub.add_participant(pid, role, name, **ids)
        world.keys[pid] = store.generate(pid)
        hub.add_key(pid, world.keys[pid].public_jwk)
        world.tokens[pid] = hub.new_token(pid)
        world.clients[pid] = HubClient(world.url, world.tokens[pid])
    try:
        yield world
    finally:
        server.shutdown()
        thread.join(timeout=5)
        hub.store.engine.dispose()


def _validate_examples(result: DemoResult, echo: Echo) -> None:
    echo("1. Validate the bundled example documents against the national standards")
    for kind in ("ehcp", "passport", "movement", "envelope", "health-advice"):
        for path in schemas.examples(kind):
            report = validators.validate(path)
            result.reports.append(report)
            verdict = "valid" if report.valid else f"INVALID ({len(report.errors)} errors)"
            echo(f"   {kind:<13} {path.name:<42} {verdict}")
    echo(f"   {len(validators.all_rules())} rules checked (list them with `sendx rules`)")
    result.steps.append("validate")


def _ctf_between_schools(w: _World, result: DemoResult, echo: Echo) -> None:
    from sendx.adapters.ctf import ctf_to_pupils
    from sendx.exchange.synth.ctf import synthetic_ctf

    echo("3. Kingsbridge Academy sends a Common Transfer File to Riverside Academy")
    ctf = synthetic_ctf(2, seed=330, source_laestab="3304001", dest_laestab="3304002", source_urn="145832")
    report = validators.validate(ctf)
    result.reports.append(report)
    echo(f"   CTF with 2 pupils validated: {'valid' if report.valid else 'INVALID'}")
    sent = w.send("school-145832", ctf.decode("utf-8"), "ctf", "school-145901")
    result.transfers["ctf"] = sent["id"]
    echo(f"   hub accepted transfer {sent['id']} (log index {sent.get('logIndex')})")
    received = w.receive("school-145901", sent["id"]).encode("utf-8")
    pupils = ctf_to_pupils(received)["pupils"]
    same = received == ctf
    echo(f"   Riverside fetched it, signature verified, {len(pupils)} pupils read, bytes identical: {same}")
    if not same:
        raise AssertionError("the CTF changed in transit")

    echo("   A leaver's CTF with an unknown destination (XXXXXXX) goes to the lost-pupil pool")
    lost_ctf = synthetic_ctf(1, seed=331, source_laestab="3304001", dest_laestab="XXXXXXX", source_urn="145832")
    w.send("school-145832", lost_ctf.decode("utf-8"), "ctf", "XXXXXXX")
    upn = ctf_to_pupils(lost_ctf)["pupils"][0]["upn"]
    found = w.clients["la-330"].lost_pupils(upn)["items"]
    echo(f"   LA 330 searched the pool by UPN: {len(found)} waiting CTF; redirected to Riverside Academy")
    w.clients["la-330"].redirect(found[0]["id"], "school-145901")
    result.steps.append("ctf")


def _ap_placement(w: _World, result: DemoResult, echo: Echo) -> None:
    echo("4. A pupil goes into alternative provision and comes back")
    by_name = {p.stem: p for p in schemas.examples("movement")}
    # Ten weeks in AP, ending two days ago, so today's audit sees the placement start and end.
    today = dt.date.today()
    dates = {
        "ap-placement-start": {"effectiveDate": today - dt.timedelta(days=72), "plannedEndDate": today},
        "ap-placement-end-reintegrated": {"effectiveDate": today - dt.timedelta(days=2)},
    }
    for name, recorder in (("ap-placement-start", "school-145832"), ("ap-placement-end-reintegrated", "ap-103614")):
        event = json.loads(by_name[name].read_text(encoding="utf-8"))
        event.update({k: v.isoformat() for k, v in dates[name].items() if k in event})
        done = w.clients[recorder].record_movement(event)
        echo(f"   {recorder} recorded {event['type']} on {event['effectiveDate']} (log index {done['logIndex']})")
        result.transfers[name] = str(done["logIndex"])
    other = json.loads(by_name["destination-unknown"].read_text(encoding="utf-8"))
    other = {
        **other,
        "eventId": _COVENTRY_EVENT,
        "pupil": {"upn": "Z331200119047"},
        "from": {**other["from"], "la": "331", "urn": "103900", "name": "Coventry Park School"},
        "recordedBy": {"participant": "la-331", "role": "la"},
    }
    w.clients["la-331"].record_movement(other)
    echo("   la-331 (Coventry) recorded a destination-unknown case in its own area")
    result.steps.append("ap")


def _health_advice_into_ehcp(w: _World, result: DemoResult, echo: Echo) -> dict[str, Any]:
    from sendx.adapters.fhir import advice_to_ehcp_sections
    from sendx.adapters.html import render_plan

    echo("5. The NHS trust sends health advice (FHIR R4) and the LA writes it into the EHCP")
    (advice_path,) = schemas.examples("health-advice")
    advice = json.loads(advice_path.read_text(encoding="utf-8"))
    sent = w.send("nhs-RYW", advice, "health-advice", "la-330")
    result.transfers["health-advice"] = sent["id"]
    received = w.receive("la-330", sent["id"])
    sections = advice_to_ehcp_sections(received)
    (plan_path,) = schemas.examples("ehcp")
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    plan["sections"]["C"], plan["sections"]["G"] = sections["C"], sections["G"]
    report = validators.validate(plan, "ehcp")
    result.reports.append(report)
    echo(
        f"   advice became {len(sections['C']['needs'])} health needs (section C) and "
        f"{len(sections['G']['provision'])} health provisions (section G); plan "
        f"{'meets the national standards' if report.valid else 'FAILS the national standards'}"
    )
    sent = w.send("la-330", plan, "ehcp", "school-145832")
    result.transfers["ehcp"] = sent["id"]
    w.receive("school-145832", sent["id"])
    page = w.home / "plan.html"
    write_private(page, render_plan(plan).encode("utf-8"))
    echo(f"   issued plan sent to Kingsbridge Academy; phone-readable copy: {page}")
    result.steps.append("health")
    return plan


def _passport_to_college(w: _World, result: DemoResult, echo: Echo, plan: dict[str, Any]) -> None:
    from sendx.adapters.passport import draft_passport

    echo("6. The LA drafts an adjustment passport from the plan and sends it to the college")
    (example,) = schemas.examples("passport")
    consent = json.loads(example.read_text(encoding="utf-8"))["consent"]
    issuer = {"type": "la", "id": "330", "name": "Birmingham City Council SEND Service"}
    passport = draft_passport(plan, issuer=issuer, issued=dt.date.today(), consent=consent)
    refused = validators.validate(passport, "passport")
    if not refused.valid:
        rules = ", ".join(sorted(refused.rules()))
        echo(f"   first draft refused ({rules}): the plan's health provision is outside the recorded consent")
        consent = {**consent, "shareWith": [*consent["shareWith"], "health"]}
        passport = draft_passport(plan, issuer=issuer, issued=dt.date.today(), consent=consent)
        echo("   the young person agrees to share health adjustments too; redrafted")
    report = validators.validate(passport, "passport")
    result.reports.append(report)
    if not report.valid:
        raise AssertionError(f"the passport draft is invalid: {report.issues[0].message}")
    sent = w.send("la-330", passport, "passport", "college-10012345")
    result.transfers["passport"] = sent["id"]
    got = w.receive("college-10012345", sent["id"])
    echo(
        f"   passport {'valid' if report.valid else 'INVALID'}: {len(got['adjustments'])} adjustments; "
        "Northfield College verified the LA's signature"
    )
    result.steps.append("passport")


def _la_audit(w: _World, result: DemoResult, echo: Echo, plan: dict[str, Any]) -> None:
    from sendx.exchange.audit.figures import la_metrics, touches_area

    echo("7. LA 330 audits pupil movements in its area")
    la = w.clients["la-330"]
    events = [item["event"] for item in la.movements(limit=200)["items"]]
    waiting = len(la.lost_pupils()["items"])
    m = la_metrics(events, la_code="330", as_of=dt.date.today(), ehcps=[plan], lost_ctfs_waiting=waiting)
    foreign = [e["eventId"] for e in events if not touches_area(e, "330")]
    coventry_hidden = _COVENTRY_EVENT not in {e["eventId"] for e in events}
    echo(f"   {m.movements} movements touch LA 330; Coventry's case is not among them: {coventry_hidden}")
    echo(f"   into AP: {m.into_ap}, out of AP: {m.out_of_ap}")
    echo(f"   reintegrated into mainstream: {m.reintegrated_mainstream} of {m.ap_exits} AP exits")
    echo(f"   EHCPs issued within 20 weeks: {m.ehcp_within_20_weeks} of {m.ehcp_issued}")
    reads = la.access_log()["items"]
    echo(f"   access log: {len(reads)} document reads recorded (who, what, when)")
    if foreign or not coventry_hidden:
        raise AssertionError("another LA's movement reached LA 330")
    _check_la_pages(w, result.transfers["ehcp"])
    echo("   the same audit on the LA pages: signed in with the la-330 token; overview, timeline and plan page read")
    result.steps.append("audit")


def _check_la_pages(w: _World, plan_transfer: str) -> None:
    """Sign in to the LA pages as a browser does and read them, so the instructions printed at the end work."""
    import re

    import requests

    browser = requests.Session()
    form = browser.get(f"{w.url}/la/sign-in", timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    data = {"csrf_token": csrf.group(1) if csrf else "", "token": w.tokens["la-330"]}
    signed_in = browser.post(f"{w.url}/la/sign-in", data=data, allow_redirects=False, timeout=30)
    if signed_in.status_code != 303:
        raise AssertionError(f"signing in to the LA pages failed ({signed_in.status_code})")
    pages = {path: browser.get(w.url + path, timeout=30) for path in ("/la/dashboard", "/la/movements")}
    pages["plan"] = browser.get(f"{w.url}/plans/{plan_transfer}", timeout=30)
    failed = [f"{path} ({r.status_code})" for path, r in pages.items() if r.status_code != 200]
    if failed:
        raise AssertionError(f"the LA pages did not load: {', '.join(failed)}")
    if "Z331200119047" in pages["/la/movements"].text:  # Coventry's pupil
        raise AssertionError("another LA's movement reached LA 330's pages")


def _verify_log(w: _World, result: DemoResult, echo: Echo) -> None:
    from sendx.exchange.log.audit import audit_log
    from sendx.exchange.log.verify import VerifierState

    echo("8. Anyone can check the movement log was never altered; an LA, that it covers its area")
    la = w.clients["la-330"]
    head = la.checkpoint()
    outcome = audit_log(la, VerifierState(), verifier=head["verifier"], la="330")
    result.log_size, result.log_verified = head["size"], outcome.ok
    verdict = "verified" if outcome.ok else f"FAILED: {'; '.join(p.message for p in outcome.problems)}"
    echo(f"   {outcome.entries} entries, root recomputed from the leaves, signed checkpoint {verdict}")
    if outcome.ok:
        echo(f"   the {outcome.area_entries} entries naming LA 330 are exactly the movements it is shown")
    echo(f"   the hub's log key: {head['verifier']}")
    result.steps.append("log")


def _save_tokens(w: _World, result: DemoResult, echo: Echo) -> None:
    path = w.home / "demo-tokens.json"
    write_private(path, json.dumps(w.tokens, indent=2).encode("utf-8"))
    echo("")
    echo("Browse it: the demo's data stays in")
    echo(f"   {w.home}")
    echo(f"   SENDX_HOME={w.home} sendx serve     # then open http://127.0.0.1:8700/la/sign-in")
    echo(f"   sign in as LA 330 with the la-330 token from {path}")
    echo(f"   then, as LA 330, the issued plan: http://127.0.0.1:8700/plans/{result.transfers['ehcp']}")


def run_demo(echo: Echo = print, *, home: Path | None = None) -> DemoResult:
    """Run every demo step in order against a fresh hub in ``home`` and return what happened."""
    result = DemoResult(home=_fresh_home(Path(home or default_demo_home()).expanduser()))
    _validate_examples(result, echo)
    echo("")
    echo(f"2. Start a hub on SQLite in {result.home} and register the participants")
    with _running_hub(result.home) as w:
        for pid, role, name, _ in DEMO_PARTICIPANTS:
            echo(f"   {pid:<17} {role:<8} {name}  (Ed25519 key {w.keys[pid].kid[:12]}…)")
        echo(f"   hub listening on {w.url}")
        for step in (_ctf_between_schools, _ap_placement):
            echo("")
            step(w, result, echo)
        echo("")
        plan = _health_advice_into_ehcp(w, result, echo)
        echo("")
        _passport_to_college(w, result, echo, plan)
        echo("")
        _la_audit(w, result, echo, plan)
        echo("")
        _verify_log(w, result, echo)
        _save_tokens(w, result, echo)
    echo("")
    echo("demo finished: " + ("everything checked out" if result.ok else "SOMETHING FAILED (see above)"))
    return result
