"""exchange/hub/service/area_facts.py and area.py: the LA figures kept as movements are written mean
what ``figures.la_metrics`` means over the whole history — on any date, with late, repeated and
damaged movements — and the timeline's SQL pages show exactly what ``MovementFilter`` shows."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, update

from sendx.exchange.audit.figures import MovementFilter, la_metrics, synthetic_history
from sendx.exchange.hub.service.area_facts import rebuild_area_facts
from sendx.exchange.hub.service.movements import append_movements
from sendx.exchange.store import AreaState, Movement
from sendx.exchange.store.migrations import alembic_config
from sendx.exchange.synth.movements import synthetic_movements
from sendx.validators.errors import InputError

ALL = 10**6  # max_cases: every open case, as la_metrics lists them


def _write(hub: Any, recorder: Any, events: list[dict[str, Any]], *, seed: int = 0) -> None:
    """Through the hub's own append path, in batches of random size (one transaction each)."""
    rng = random.Random(seed)
    i = 0
    while i < len(events):
        n = rng.randint(1, 40)
        with hub.store.write() as s:
            append_movements(hub, s, recorder, events[i : i + n], None)
        i += n


def _la(hub: Any, world: Any, code: str) -> Any:
    return hub.authenticate(world[f"la-{code}"].token)


def _same_figures(hub: Any, world: Any, events: list[dict[str, Any]], days: list[dt.date], las=("330", "331")) -> None:
    for code in las:
        la = _la(hub, world, code)
        for as_of in days:
            assert hub.area_figures(la, as_of=as_of, max_cases=ALL) == la_metrics(events, la_code=code, as_of=as_of), (
                code,
                as_of,
            )


@pytest.fixture
def history(hub, world):
    h = synthetic_history(3, 90, las=("330", "331"))
    _write(hub, _la(hub, world, "330"), h.events)
    return h


def test_figures_equal_la_metrics_on_any_date(hub, world, history):
    start = dt.date(2025, 8, 1)
    days = [start + dt.timedelta(days=d) for d in (0, 45, 90, 130, 200, 300, 400, 700)]
    _same_figures(hub, world, history.events, [*days, history.as_of])
    m = hub.area_figures(_la(hub, world, "330"), as_of=history.as_of, max_cases=3)
    assert len(m.unknown_cases) == min(3, m.unknown_open) and m.unknown_open == history.expected["330"]["unknownOpen"]


def test_a_realistic_stream_with_late_reports(hub, world):
    """synthetic_movements tells pupils' stories one after another: most arrive long after
    movements dated later than theirs."""
    events = list(synthetic_movements(700, seed=9, la="330", neighbours=["331"]))
    _write(hub, _la(hub, world, "330"), events, seed=2)
    _same_figures(hub, world, events, [dt.date(2024, 3, 1), dt.date(2025, 6, 30), dt.date(2026, 12, 1)])


def test_a_late_movement_changes_the_spans_it_falls_in(hub, world, history):
    """Reported after everything else, dated before: an exit from AP the hub never heard of
    splits a placement; a join closes a case that was open."""
    la = _la(hub, world, "330")
    before = hub.area_figures(la, as_of=history.as_of, max_cases=ALL)
    pupil_in_ap = next(e for e in history.events if e["to"] and e["to"]["ap"] and e["to"]["la"] == "330" and e["from"])
    day = dt.date.fromisoformat(pupil_in_ap["effectiveDate"]) + dt.timedelta(days=5)
    late = [
        {
            **pupil_in_ap,
            "eventId": "LATE-1",
            "type": "ap-placement-end",
            "effectiveDate": day.isoformat(),
            "from": pupil_in_ap["to"],
            "to": pupil_in_ap["from"],
            "reintegration": "mainstream",
        },
    ]
    case = before.unknown_cases[0]
    lost = next(e for e in history.events if e["eventId"] == case.event_id)
    found = dt.date.fromisoformat(case.since) + dt.timedelta(days=3)
    late.append(
        {
            **lost,
            "eventId": "LATE-2",
            "type": "join",
            "effectiveDate": found.isoformat(),
            "from": None,
            "to": history.events[0]["to"],
        }
    )
    _write(hub, la, late)
    after = hub.area_figures(la, as_of=history.as_of, max_cases=ALL)
    assert after.unknown_open == before.unknown_open - 1 and after.ap_exits == before.ap_exits + 1
    assert after.placements >= before.placements
    _same_figures(hub, world, [*history.events, *late], [history.as_of, found, day])


def test_a_movement_reported_twice_counts_once(hub, world, history):
    la = _la(hub, world, "330")
    before = hub.area_figures(la, as_of=history.as_of, max_cases=ALL)
    again = [{**e, "eventId": f"{e['eventId']}-again"} for e in history.events[::3]]
    twice_in_one_batch = [{**again[1], "eventId": "ONE-BATCH-1"}, {**again[1], "eventId": "ONE-BATCH-2"}]
    _write(hub, la, again + twice_in_one_batch)
    assert hub.area_figures(la, as_of=history.as_of, max_cases=ALL) == before
    everything = [*history.events, *again, *twice_in_one_batch]
    _same_figures(hub, world, everything, [history.as_of, dt.date(2025, 11, 1)])
    # The timeline still lists every report: the log witnessed them all.
    listed = list(hub.area_export(la, {}))
    assert len(listed) == len(MovementFilter(la="330").apply(everything))


def test_a_damaged_movement_counts_as_it_was_written_and_is_listed_by_log_index(hub, world, history):
    la = _la(hub, world, "330")
    before = hub.area_figures(la, as_of=history.as_of, max_cases=ALL)
    open_cases = {c.event_id for c in before.unknown_cases}
    victim = next(e for e in history.events if e["type"] == "join" and e["eventId"] not in open_cases)
    with hub.store.write() as s:
        s.execute(update(Movement).where(Movement.event_id == victim["eventId"]).values(ciphertext=b"\x00" * 64))
        index = s.scalar(select(Movement.log_index).where(Movement.event_id == victim["eventId"]))
    assert hub.area_figures(la, as_of=history.as_of, max_cases=ALL) == before
    listed = list(hub.area_export(la, {}))
    damaged = [e for e in listed if e.get("damaged")]
    assert [(e["eventId"], e["logIndex"], e["type"]) for e in damaged] == [(victim["eventId"], index, "join")]
    assert len(listed) == len(MovementFilter(la="330").apply(history.events))


QUERIES = [
    {},
    {"ap": "1"},
    {"unknown": "1"},
    {"type": "join"},
    {"type": ["ap-placement-start", "off-site-direction"]},
    {"from": "2025-10-01", "to": "2025-12-31"},
    {"from": "2026-01-01"},
    {"setting": "Referral"},
    {"setting": "willow"},
    {"setting": "133001"},
    {"settingType": "alternative-provision"},
    {"settingType": "special-school", "ap": "1"},
    {"setting": "Oak", "type": "join", "from": "2025-09-10"},
    {"setting": "%"},
    {"setting": "_"},
]


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_timeline_pages_show_what_the_filter_shows(hub, world, history, query):
    la = _la(hub, world, "330")
    flt = MovementFilter.from_query("330", query)
    want = [e["eventId"] for e in flt.apply(history.events)]
    pages, older = [], None
    while True:
        page = hub.area_movements(la, flt, older=older, per_page=7)
        pages.append(page)
        if page.older is None:
            break
        older = page.older
    assert [e["eventId"] for p in pages for e in p.items] == want
    assert all(e["recordedAt"] and e["logIndex"] is not None for p in pages for e in p.items)
    # And back again, newest first within each page, through the ``newer`` cursors.
    back, newer = [], pages[-1].newer
    while newer is not None:
        page = hub.area_movements(la, flt, newer=newer, per_page=7)
        back = [e["eventId"] for e in page.items] + back
        newer = page.newer
    assert back + [e["eventId"] for e in pages[-1].items] == want


def test_an_export_that_cannot_be_read_fails_before_it_starts(hub, world, history):
    """A NUL in a filter is refused by the store on its first query: that must be the export's
    first batch, read when the export is asked for, so the hub answers 400 rather than cutting
    a 200 download short."""
    la = _la(hub, world, "330")
    with pytest.raises(InputError, match="NUL"):
        hub.area_export(la, {"setting": "Oak\x00"})


def test_timeline_refuses_bad_cursors_and_other_areas(hub, world, history):
    la = _la(hub, world, "330")
    for bad in ("nope", "MjAyNS0wMS0wMS54", "OTk5OS05OS05OS4x", "MjAyNS0wMS0wMS45OTk5OTk5OTk5OTk5OTk5OTk5OTk5"):
        with pytest.raises(InputError):
            hub.area_movements(la, MovementFilter(la="330"), older=bad)
    with pytest.raises(InputError):
        hub.area_movements(la, MovementFilter(la="331"))


def test_the_api_pages_by_cursor_through_the_whole_scope(client, hub, world, history):
    la = world["la-330"]
    seen, after = [], ""
    while True:
        r = client.get(f"/v1/movements?limit=13{after}", headers=la.headers)
        assert r.status_code == 200, r.json
        seen += [(m["event"]["effectiveDate"], m["event"]["eventId"]) for m in r.json["items"]]
        if r.json["next"] is None:
            break
        after = f"&after={r.json['next']}"
    # All were recorded by LA 330's participant, so all are in its scope (as ``school_la``), the
    # other area's too; LA 331 sees those naming a setting of its own.
    assert sorted(e for _, e in seen) == sorted(e["eventId"] for e in history.events) and len(set(seen)) == len(seen)
    theirs = client.get("/v1/movements?limit=200", headers=world["la-331"].headers).json["items"]
    assert sorted(m["event"]["eventId"] for m in theirs) == sorted(
        e["eventId"] for e in history.events if "331" in {(e["from"] or {}).get("la"), (e["to"] or {}).get("la")}
    )
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # oldest first
    assert client.get("/v1/movements?after=%%%", headers=la.headers).status_code == 400


def test_a_hub_with_records_from_before_the_migration_builds_its_facts(hub, world, history):
    """Migration 0004 on a hub holding movements and plans: the facts are built at start."""
    la = _la(hub, world, "330")
    before = hub.area_figures(la, as_of=history.as_of, max_cases=ALL)
    first_page = hub.area_movements(la, MovementFilter(la="330"))
    cfg = alembic_config()
    with hub.store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")  # as the hub was before this change
    hub.store.migrate()
    with hub.store.read() as s:
        assert s.get(AreaState, 1).rebuild is True
    assert rebuild_area_facts(hub) is True
    assert rebuild_area_facts(hub) is False  # once
    assert hub.area_figures(la, as_of=history.as_of, max_cases=ALL) == before
    assert hub.area_movements(la, MovementFilter(la="330")) == first_page
    _same_figures(hub, world, history.events, [history.as_of])


def test_a_new_hub_has_nothing_to_build(hub):
    with hub.store.read() as s:
        assert s.get(AreaState, 1).rebuild is False
    assert rebuild_area_facts(hub) is False


def test_a_view_decrypts_only_the_rows_it_shows(hub, world, history, monkeypatch):
    la = _la(hub, world, "330")
    opened: list[str] = []
    decrypt = hub.cipher.decrypt
    monkeypatch.setattr(hub.cipher, "decrypt", lambda nonce, ct, aad: opened.append(aad) or decrypt(nonce, ct, aad))
    m = hub.area_figures(la, as_of=history.as_of, max_cases=2)
    assert len(opened) == len(m.unknown_cases) == 2 < m.unknown_open
    opened.clear()
    page = hub.area_movements(la, MovementFilter(la="330"), per_page=7)
    assert len(opened) == len(page.items) == 7 < len(history.events)
    opened.clear()
    export = hub.area_export(la, {})
    assert 0 < len(opened) <= 500  # the first batch, read before a response would start
    first = len(opened)
    for _ in range(first):
        next(export)
    assert len(opened) == first  # the next batch only when the first is sent
