"""What the LA pages read: an area's figures on a date, a page of its movement timeline, its CSV.

Each reads the area facts kept as records are written (``area_facts``) and opens only the
movements it shows — a page of the timeline, the oldest open unknown-destination cases on
the overview, the export a batch at a time — so its cost follows what it shows, not the
area's history.  Nothing decrypted outlives the request that asked for it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from sendx.exchange.audit.figures import (
    DayCount,
    EhcpCounts,
    LaMetrics,
    MovementFilter,
    assemble_metrics,
    unknown_case,
)
from sendx.exchange.hub.service._base import HubBase, decode_cursor, encode_cursor, iso, require
from sendx.exchange.hub.service.sealed import open_logged
from sendx.exchange.store import (
    AreaDay,
    AreaLength,
    AreaMovement,
    AreaPlacement,
    AreaPlan,
    AreaUnknown,
    LogLeaf,
    LostPupil,
    Movement,
    Participant,
    Setting,
)
from sendx.validators.errors import InputError

__all__ = ["AreaRecords", "MovementPage"]

#: Movements per batch of the CSV export: memory stays that of one batch.
EXPORT_BATCH = 500

_A, _M = AreaMovement.__table__, Movement.__table__


@dataclass(frozen=True)
class MovementPage:
    """One page of an area's timeline, newest first, and the cursors of its neighbours."""

    items: list[dict[str, Any]]
    #: Cursor for the page of newer movements (None on the first page), and of older ones.
    newer: str | None
    older: str | None


def _matching(flt: MovementFilter) -> list[Any]:
    """``MovementFilter.matches`` as SQL over the area facts (its area: ``flt.la``)."""
    conds: list[Any] = [_A.c.la == flt.la, _A.c.shown]
    if flt.date_from:
        conds.append(_A.c.day >= flt.date_from)
    if flt.date_to:
        conds.append(_A.c.day <= flt.date_to)
    if flt.types:
        conds.append(_A.c.type.in_(sorted(flt.types)))
    if flt.ap_only:
        conds.append(_A.c.ap)
    if flt.unknown_only:
        conds.append(_A.c.unknown)
    s = Setting.__table__
    if flt.setting_type:
        typed = select(s.c.id).where(s.c.type == flt.setting_type)
        conds.append(or_(_A.c.from_setting.in_(typed), _A.c.to_setting.in_(typed)))
    if flt.setting:
        needle = flt.setting
        named = select(s.c.id).where(
            or_(
                s.c.urn == needle,
                s.c.ukprn == needle,
                s.c.laestab == needle,
                s.c.name_folded.contains(needle.casefold(), autoescape=True),
            )
        )
        conds.append(or_(_A.c.from_setting.in_(named), _A.c.to_setting.in_(named)))
    return conds


def _after(position: tuple[dt.date, int], newer: bool) -> Any:
    """Keyset condition: rows past ``position`` in date-then-id order (``newer``: after it)."""
    day, mid = position
    if newer:
        return and_(_A.c.day >= day, or_(_A.c.day > day, _A.c.movement_id > mid))
    return and_(_A.c.day <= day, or_(_A.c.day < day, _A.c.movement_id < mid))


_ROWS = (
    select(
        _A.c.day,
        _A.c.movement_id,
        _A.c.type,
        _M.c.recorded_by,
        _M.c.event_id,
        _M.c.nonce,
        _M.c.ciphertext,
        _M.c.salt,
        _M.c.created_at,
        _M.c.log_index,
        LogLeaf.leaf,
    )
    .join(_M, _M.c.id == _A.c.movement_id)
    .outerjoin(LogLeaf, LogLeaf.index == _M.c.log_index)
)


class AreaRecords(HubBase):
    """An LA's area, read a page, a figure or a batch at a time."""

    def _open(self, row: Any) -> dict[str, Any]:
        """A listed movement: its event with the hub's ``recordedAt`` and ``logIndex``, or, for a
        row that cannot be decrypted or does not match its log entry, what its clear columns say,
        ``damaged`` and the ``problem`` (one damaged row never takes the area's pages down)."""
        event, problem = open_logged(self.cipher, row, row.leaf)
        if event is None:
            event = {
                "eventId": row.event_id,
                "type": row.type,
                "effectiveDate": row.day.isoformat(),
                "damaged": True,
                "problem": problem,
            }
        return {**event, "recordedAt": iso(row.created_at), "logIndex": row.log_index}

    def area_movements(
        self,
        caller: Participant,
        flt: MovementFilter,
        *,
        older: str | None = None,
        newer: str | None = None,
        per_page: int = 50,
    ) -> MovementPage:
        """A page of the caller's area timeline matching ``flt``, newest first: the first page,
        or the one after cursor ``older`` or before cursor ``newer``."""
        require(caller, "la")
        if flt.la != caller.la:
            raise InputError("a movement filter is for the signed-in LA's own area")
        per_page = max(1, min(per_page, 200))
        q = _ROWS.where(*_matching(flt), _M.c.erased_at.is_(None))  # erased: the log entry alone stays
        backwards = newer is not None
        if newer is not None:
            q = q.where(_after(decode_cursor(newer, "newer"), newer=True))
            q = q.order_by(_A.c.day, _A.c.movement_id)
        else:
            if older is not None:
                q = q.where(_after(decode_cursor(older, "older"), newer=False))
            q = q.order_by(_A.c.day.desc(), _A.c.movement_id.desc())
        with self.store.read() as s:
            rows = s.execute(q.limit(per_page + 1)).all()
        more = len(rows) > per_page
        rows = rows[:per_page]
        if backwards:
            rows.reverse()
        items = [self._open(r) for r in rows]
        if not rows:
            return MovementPage(items, None, None)
        first, last = encode_cursor(rows[0].day, rows[0].movement_id), encode_cursor(rows[-1].day, rows[-1].movement_id)
        if backwards:
            return MovementPage(items, first if more else None, last)
        return MovementPage(items, first if older is not None else None, last if more else None)

    def area_export(self, caller: Participant, query: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every movement of the caller's area matching the LA pages' filter ``query``, newest
        first, read in batches (each its own short transaction), one batch in memory.

        The caller, the filter and the first batch are read now, so whatever is wrong with the
        request is an error before a response starts, not a download cut short."""
        require(caller, "la")
        flt = MovementFilter.from_query(str(caller.la), query)
        first = self.area_movements(caller, flt, per_page=EXPORT_BATCH)

        def batches(page: MovementPage) -> Iterator[dict[str, Any]]:
            while True:
                yield from page.items
                if page.older is None:
                    return
                page = self.area_movements(caller, flt, older=page.older, per_page=EXPORT_BATCH)

        return batches(first)

    def area_figures(self, caller: Participant, *, as_of: dt.date, max_cases: int = 50) -> LaMetrics:
        """The caller's area figures on ``as_of`` (``figures.la_metrics`` in meaning), from sums
        over its days and spans; only the ``max_cases`` oldest open cases are opened."""
        require(caller, "la")
        la = str(caller.la)
        d, n, p, u = AreaDay, AreaLength, AreaPlacement, AreaUnknown
        # "Still open on as_of" is two index ranges, never ended and ended after it, queried
        # apart: as one OR, SQLite reads every placement and case the area ever had.
        placement_open = (p.end_day.is_(None), p.end_day > as_of)
        case_open = (u.until.is_(None), u.until > as_of)
        with self.store.read() as s:
            days = [DayCount(*r) for r in s.execute(_DAYS.where(d.la == la, d.day <= as_of))]
            lengths: Counter[int] = Counter(dict(s.execute(select(n.days, n.count).where(n.la == la)).all()))
            # A placement that ended after ``as_of`` was still open on it.
            for start, end in s.execute(select(p.start_day, p.end_day).where(p.la == la, p.end_day > as_of)):
                lengths[(end - start).days] -= 1
            open_placements = 0
            for still_open in placement_open:
                for start, count in s.execute(
                    select(p.start_day, func.count())
                    .where(p.la == la, still_open, p.start_day <= as_of)
                    .group_by(p.start_day)
                ):
                    lengths[max(0, (as_of - start).days)] += count
                    open_placements += count
            unknown_open = sum(
                s.scalar(select(func.count()).select_from(u).where(u.la == la, still_open, u.since <= as_of)) or 0
                for still_open in case_open
            )
            # The oldest open cases by (since, event id): those still open in the index's own
            # order, and those that closed after ``as_of`` (few, for a recent date), merged.
            oldest = select(u.since, u.event_id, u.movement_id).where(u.la == la, u.since <= as_of)
            oldest = oldest.order_by(u.since, u.event_id).limit(max(0, max_cases))
            listed = sorted([row for still_open in case_open for row in s.execute(oldest.where(still_open))])[
                : max(0, max_cases)
            ]
            opened = {
                r.id: r
                for r in s.execute(
                    select(*_OPENED)
                    .outerjoin(LogLeaf, LogLeaf.index == _M.c.log_index)
                    .where(_M.c.id.in_([mid for _, _, mid in listed]))
                )
            }
            case_rows = [(since, opened[mid]) for since, _, mid in listed]
            lost = s.scalar(
                select(func.count(func.distinct(LostPupil.transfer_id))).where(
                    LostPupil.source_la == la, LostPupil.status == "open"
                )
            )
            ehcp = EhcpCounts(
                *(
                    int(v or 0)
                    for v in s.execute(_plan_sums(as_of).where(AreaPlan.sender_la == la, AreaPlan.plan_la == la)).one()
                )
            )
        cases = []
        for since, r in case_rows:
            event, _ = open_logged(self.cipher, r, r.leaf)
            if event is None:
                event = {
                    "eventId": r.event_id,
                    "type": r.type,
                    "pupil": {"upn": f"(record damaged: log entry {r.log_index})"},
                }
            cases.append(unknown_case(event, str((event.get("pupil") or {}).get("upn", "")), since, as_of))
        return assemble_metrics(
            la_code=la,
            as_of=as_of,
            days=days,
            placement_lengths=lengths,
            open_placements=open_placements,
            unknown_open=unknown_open,
            unknown_cases=cases,
            ehcp=ehcp,
            lost_ctfs_waiting=lost or 0,
        )


_OPENED = (
    _M.c.id,
    _M.c.recorded_by,
    _M.c.event_id,
    _M.c.nonce,
    _M.c.ciphertext,
    _M.c.salt,
    _M.c.type,
    _M.c.log_index,
    LogLeaf.leaf,
)
_DAYS = select(AreaDay.day, AreaDay.movements, AreaDay.into_ap, AreaDay.out_of_ap, AreaDay.reintegrated)


def _plan_sums(as_of: dt.date) -> Any:
    def count(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    pl = AreaPlan
    under_5 = and_(pl.overdue_from <= as_of, pl.overdue_until > as_of)
    return select(
        count(pl.issued),
        count(pl.within),
        count(pl.excepted),
        count(pl.late),
        count(pl.tracked),
        count(or_(under_5, pl.overdue_after_5 <= as_of)),
    )
