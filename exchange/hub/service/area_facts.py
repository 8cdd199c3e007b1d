"""The LA audit's facts in the store, written in the same transaction as the records they come from.

``index_movements`` runs inside every log append (``movements.log_rows``): each movement gets
a row per LA in its scope (``AreaMovement``: date, type, AP flow, repeat, settings), its day's
counts in each area it touches (``AreaDay``), and every pupil whose AP placements or
unknown-destination cases it can change has those spans recomputed from their history in
the area (``facts.pupil_spans``), with the lengths of ended placements counted
(``AreaLength``).  ``index_plan`` keeps the latest version of each EHC plan an LA issued
(``AreaPlan``).  ``rebuild_area_facts`` builds all of it from the stored records, once, when
the migration that added these tables found records (it needs the storage key).

The counting rules are ``sendx.exchange.audit.facts``; the LA pages read the sums (``area``).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sendx.exchange.audit.facts import Step as _Step
from sendx.exchange.audit.facts import movement_facts, plan_facts, pupil_spans, setting_end
from sendx.exchange.hub.service._base import HubBase
from sendx.exchange.hub.service.sealed import logged_leaves, open_logged
from sendx.exchange.store import (
    AreaDay,
    AreaLength,
    AreaMovement,
    AreaPlacement,
    AreaPlan,
    AreaState,
    AreaUnknown,
    Movement,
    Participant,
    Setting,
    Transfer,
    utcnow,
)
from sendx.exchange.store.atrest import Cipher
from sendx.validators.errors import SendxError

__all__ = ["MOVEMENT_COLUMNS", "index_movements", "index_plan", "rebuild_area_facts"]

Db = Session | Connection
#: The columns of a movement row ``index_movements`` reads besides the event itself.
MOVEMENT_COLUMNS = ("upn_hash", "from_la", "to_la", "school_la", "type", "effective_date")
#: Identifiers per ``IN (...)`` list: well under SQLite's and psycopg's parameter limits.
_CHUNK = 500


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _keyed(cipher: Cipher, data: bytes) -> str:
    """A keyed hash of ``data`` (the storage key's identifier index over its SHA-256)."""
    return cipher.index(hashlib.sha256(data).hexdigest())


def _json(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits in a malformed event
        return repr(value).encode("utf-8")


def _dialect(db: Db) -> Any:
    """The SQLAlchemy dialect module whose ``insert`` has ``on_conflict_do_update``."""
    bind = db if isinstance(db, Connection) else db.get_bind()
    return postgresql if bind.dialect.name == "postgresql" else sqlite


def _add(db: Db, table: Any, keys: tuple[str, ...], deltas: Mapping[tuple[Any, ...], Sequence[int]]) -> None:
    """Add ``deltas`` (key values → amounts for the table's other columns) to counter rows."""
    rows = [dict(zip(keys, k, strict=True)) for k in deltas]
    columns = [c.name for c in table.c if c.name not in keys]
    for row, amounts in zip(rows, deltas.values(), strict=True):
        row.update(zip(columns, amounts, strict=True))
    if not rows:
        return
    stmt = _dialect(db).insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: table.c[c] + stmt.excluded[c] for c in columns}
    )
    db.execute(stmt, rows)


# ---------------------------------------------------------------------------- movements


def index_movements(hub: HubBase, db: Db, written: Sequence[tuple[int, Mapping[str, Any], Mapping[str, Any]]]) -> None:
    """The area facts of movement rows just inserted: ``(id, event, columns)`` in id order,
    ``columns`` holding at least ``MOVEMENT_COLUMNS`` as the hub wrote them."""
    if not written:
        return
    facts = [movement_facts(event) for _, event, _ in written]
    said = [None if f.said is None else bytes.fromhex(_keyed(hub.cipher, _json(f.said))[:32]) for f in facts]
    earlier = _said_before(db, [s for s in said if s is not None])
    settings = _setting_ids(db, [event for _, event, _ in written])
    rows = []
    days: dict[tuple[str, Any], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    spans: set[tuple[str, str]] = set()  # (la, upn_hash) whose spans the batch can change
    closing: set[tuple[str, str]] = set()  # ... only by closing an unknown-destination case
    for (mid, event, cols), f, key in zip(written, facts, said, strict=True):
        repeat = key is not None and key in earlier
        if key is not None:
            earlier.add(key)  # a later row of this batch saying the same is a repeat too
        ends = [setting_end(event, "from"), setting_end(event, "to")]
        ids = [None if end is None else settings.get(_json(end)) for end in ends]
        scope = {cols["from_la"], cols["to_la"], cols["school_la"]} - {None, ""} | f.las
        for la in sorted(scope):
            shown = la in f.las and f.day is not None
            rows.append(
                {
                    "movement_id": mid,
                    "la": la,
                    "day": cols["effective_date"],
                    "type": cols["type"],
                    "shown": shown,
                    "repeat": repeat,
                    "flow": f.flow,
                    "reintegrated": f.reintegrated,
                    "unknown": f.unknown,
                    "has_to": f.has_to,
                    "ap": f.ap,
                    "from_setting": ids[0],
                    "to_setting": ids[1],
                    "said": key,
                }
            )
            if not shown or repeat:
                continue
            counts = days[la, f.day]
            counts[0] += 1
            counts[1] += f.flow > 0
            counts[2] += f.flow < 0
            counts[3] += f.reintegrated
            if f.flow or f.unknown:
                spans.add((la, cols["upn_hash"]))
            elif f.has_to:
                closing.add((la, cols["upn_hash"]))
    db.execute(AreaMovement.__table__.insert(), rows)
    _add(db, AreaDay.__table__, ("la", "day"), days)
    spans |= _with_cases(db, closing - spans)
    _respan(db, spans)


def _said_before(db: Db, keys: Sequence[bytes]) -> set[bytes]:
    found: set[bytes] = set()
    for chunk in _chunks(sorted(set(keys))):
        found.update(db.execute(select(AreaMovement.said).where(AreaMovement.said.in_(chunk))).scalars())
    return found


def _setting_ids(db: Db, events: Iterable[Mapping[str, Any]]) -> dict[bytes, int]:
    """Row ids of the settings the events name (by canonical JSON), adding the new ones."""
    ends = {}
    for event in events:
        for which in ("from", "to"):
            end = setting_end(event, which)
            if end is not None:
                ends[_json(end)] = end
    keys = {hashlib.sha256(j).hexdigest(): j for j in ends}
    ids: dict[bytes, int] = {}
    table = Setting.__table__
    for chunk in _chunks(sorted(keys)):
        for sid, key in db.execute(select(table.c.id, table.c.key).where(table.c.key.in_(chunk))):
            ids[keys[key]] = sid
    new = [(k, ends[j]) for k, j in keys.items() if j not in ids]
    if new:
        inserted = db.execute(
            table.insert().returning(table.c.id, table.c.key, sort_by_parameter_order=True),
            [{"key": k, **_setting_columns(end)} for k, end in new],
        )
        for sid, key in inserted:
            ids[keys[key]] = sid
    return ids


def _setting_columns(end: Mapping[str, Any]) -> dict[str, Any]:
    """What the timeline's setting filters match: codes as the event wrote them, the name folded."""
    name = end.get("name")
    out: dict[str, Any] = {k: str(end[k]) if k in end else None for k in ("urn", "ukprn", "laestab")}
    out["name"] = str(name) if name is not None else None
    out["name_folded"] = str(end.get("name", "")).casefold()
    out["type"] = end.get("type") if isinstance(end.get("type"), str) else None
    return out


def _by_la(pairs: set[tuple[str, str]]) -> Iterator[tuple[str, Sequence[str]]]:
    """``pairs`` (la, upn_hash) as (la, a chunk of that LA's hashes): IN lists the (la, upn_hash) indexes serve."""
    hashes: dict[str, set[str]] = defaultdict(set)
    for la, h in pairs:
        hashes[la].add(h)
    for la, mine in sorted(hashes.items()):
        for chunk in _chunks(sorted(mine)):
            yield la, chunk


def _with_cases(db: Db, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of ``pairs`` (la, upn_hash) with an unknown-destination case a setting could close."""
    table = AreaUnknown.__table__
    found: set[tuple[str, str]] = set()
    for la, chunk in _by_la(pairs):
        query = select(table.c.upn_hash).where(table.c.la == la, table.c.upn_hash.in_(chunk))
        found.update((la, h) for h in db.execute(query).scalars())
    return found


def _respan(db: Db, pairs: set[tuple[str, str]]) -> None:
    """Recompute the placements and unknown-destination cases of each (la, pupil) in ``pairs``."""
    if not pairs:
        return
    hashes = sorted({h for _, h in pairs})
    steps: dict[tuple[str, str], list[_Step]] = defaultdict(list)
    old_p: dict[tuple[str, str], dict[tuple[Any, ...], int]] = defaultdict(dict)
    old_u: dict[tuple[str, str], dict[tuple[Any, ...], int]] = defaultdict(dict)
    a, m, p, u = AreaMovement.__table__, Movement.__table__, AreaPlacement.__table__, AreaUnknown.__table__
    history = (
        select(a.c.la, m.c.upn_hash, a.c.day, a.c.movement_id, a.c.flow, a.c.unknown, a.c.has_to, m.c.event_id)
        .join(m, m.c.id == a.c.movement_id)
        .where(a.c.shown, ~a.c.repeat, or_(a.c.flow != 0, a.c.unknown, a.c.has_to))
    )
    event_ids: dict[int, str] = {}
    for chunk in _chunks(hashes):
        for la, h, day, mid, flow, unknown, has_to, event_id in db.execute(history.where(m.c.upn_hash.in_(chunk))):
            if (la, h) in pairs:
                steps[la, h].append(_Step(day, mid, flow, unknown, has_to))
                if unknown:
                    event_ids[mid] = event_id
    for la, chunk in _by_la(pairs):
        placements = select(p.c.id, p.c.upn_hash, p.c.start_day, p.c.end_day, p.c.start_movement_id)
        for rid, h, start, end, mid in db.execute(placements.where(p.c.la == la, p.c.upn_hash.in_(chunk))):
            old_p[la, h][start, end, mid] = rid
        cases = select(u.c.id, u.c.upn_hash, u.c.since, u.c.until, u.c.movement_id)
        for rid, h, since, until, mid in db.execute(cases.where(u.c.la == la, u.c.upn_hash.in_(chunk))):
            old_u[la, h][since, until, mid] = rid
    gone_p: list[int] = []
    gone_u: list[int] = []
    new_p: list[dict[str, Any]] = []
    new_u: list[dict[str, Any]] = []
    lengths: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0])
    for la, h in sorted(pairs):
        placements, cases = pupil_spans(sorted(steps[la, h], key=lambda s: (s.day, s.order)))
        now_p = {(s.start, s.end, s.order) for s in placements}
        for span, rid in old_p[la, h].items():
            if span not in now_p:
                gone_p.append(rid)
                if span[1] is not None:
                    lengths[la, (span[1] - span[0]).days][0] -= 1
        for start, end, mid in now_p - old_p[la, h].keys():
            new_p.append({"la": la, "upn_hash": h, "start_day": start, "end_day": end, "start_movement_id": mid})
            if end is not None:
                lengths[la, (end - start).days][0] += 1
        now_u = {(c.since, c.until, c.order) for c in cases}
        gone_u += [rid for span, rid in old_u[la, h].items() if span not in now_u]
        new_u += [
            {"la": la, "upn_hash": h, "since": since, "until": until, "movement_id": mid, "event_id": event_ids[mid]}
            for since, until, mid in now_u - old_u[la, h].keys()
        ]
    for table, gone in ((p, gone_p), (u, gone_u)):
        for chunk in _chunks(gone):
            db.execute(delete(table).where(table.c.id.in_(chunk)))
    for table, new in ((p, new_p), (u, new_u)):
        if new:
            db.execute(table.insert(), new)
    _add(db, AreaLength.__table__, ("la", "days"), {k: v for k, v in lengths.items() if v[0]})


# ---------------------------------------------------------------------------- plans


def index_plan(hub: HubBase, db: Db, sender: Participant, transfer_id: str, plan: Mapping[str, Any]) -> None:
    """Keep an EHC plan an LA participant sent as its LA's latest version of that plan."""
    if sender.role != "la" or not sender.la:
        return
    f = plan_facts(plan)
    plan_id = plan.get("planId")
    row = {
        "sender_la": sender.la,
        "plan_key": _keyed(hub.cipher, _json(["plan", plan_id if plan_id else transfer_id])),
        "transfer_id": transfer_id,
        "plan_la": f.la,
        "issued": f.issued,
        "within": f.within,
        "excepted": f.excepted,
        "late": f.late,
        "tracked": f.tracked,
        "overdue_from": f.overdue_from,
        "overdue_until": f.overdue_until,
        "overdue_after_5": f.overdue_after_5,
    }
    # An upsert: two versions of a plan uploaded at once leave the later writer's, never a conflict.
    stmt = _dialect(db).insert(AreaPlan.__table__).values(row)
    keys = ("sender_la", "plan_key")
    db.execute(stmt.on_conflict_do_update(index_elements=keys, set_={k: v for k, v in row.items() if k not in keys}))


# ---------------------------------------------------------------------------- rebuilding


def rebuild_area_facts(hub: HubBase, *, batch: int = 2000) -> bool:
    """Build the area facts from every stored movement and plan, if the store asks for it.

    Runs with the log head locked, so no append interleaves; True if it rebuilt.  A row that
    cannot be decrypted or does not match its log entry (damaged at rest) is indexed from its
    clear columns alone (type, date, LAs, AP flags), so it is still listed and counted as those say.
    """
    with hub.store.write() as s:
        hub.store.lock_log_head(s, 0)
        state = s.get(AreaState, 1)
        if state is None or not state.rebuild:
            return False
        for model in (AreaMovement, AreaDay, AreaPlacement, AreaLength, AreaUnknown, AreaPlan, Setting):
            s.execute(delete(model.__table__))
        m = Movement.__table__
        columns = [m.c[c] for c in MOVEMENT_COLUMNS]
        query = select(
            m.c.id,
            m.c.recorded_by,
            m.c.event_id,
            m.c.nonce,
            m.c.ciphertext,
            m.c.salt,
            m.c.log_index,
            m.c.from_ap,
            m.c.to_ap,
        )
        last = 0
        while rows := s.execute(query.add_columns(*columns).where(m.c.id > last).order_by(m.c.id).limit(batch)).all():
            leaves = logged_leaves(s, [r.log_index for r in rows])
            written = []
            for r in rows:
                event, problem = open_logged(hub.cipher, r, leaves.get(r.log_index))
                written.append((r.id, event if problem is None else _event_from_columns(r), r._mapping))
            index_movements(hub, s, written)
            last = rows[-1].id
        t, p = Transfer.__table__, Participant.__table__
        plans = (
            select(t.c.id, t.c.nonce, t.c.ciphertext, p.c.id.label("sender"))
            .join(p, p.c.id == t.c.sender_id)
            .where(t.c.kind == "ehcp", p.c.role == "la")
            .order_by(t.c.created_at, t.c.id)
        )
        for row in s.execute(plans).all():
            try:
                plan = orjson.loads(hub.cipher.decrypt(row.nonce, row.ciphertext, row.id))["document"]
            except (SendxError, orjson.JSONDecodeError, KeyError, TypeError):
                continue  # a damaged plan cannot be counted: its figures are those of the rest
            if isinstance(plan, Mapping):
                index_plan(hub, s, s.get(Participant, row.sender), row.id, plan)
        s.execute(update(AreaState.__table__).values(rebuild=False, built_at=utcnow()))
    return True


def _event_from_columns(row: Any) -> dict[str, Any]:
    """What a movement row says in clear, as an event, for a row whose sealed event is damaged."""

    def end(la: str | None, ap: bool) -> dict[str, Any] | None:
        return {"la": la, "ap": bool(ap)} if la else None

    return {
        "type": row.type,
        "effectiveDate": row.effective_date.isoformat(),
        "from": end(row.from_la, row.from_ap),
        "to": end(row.to_la, row.to_ap),
        "pupil": {"upn": row.upn_hash},  # one pupil's, though the UPN itself is sealed
    }
