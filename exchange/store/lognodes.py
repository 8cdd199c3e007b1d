"""The movement log's node storage in the hub database: ``sendx.exchange.log.merkle.NodeStore`` over SQL.

A ``SqlNodeStore`` lives for one transaction, on an ORM session or a bare connection alike
(its statements are table-level Core, so neither adds ORM bookkeeping to an append).
Appends happen only while the caller holds the ``log_head`` row lock (see
``Store.lock_log_head``), so however many workers share the database, leaves get
consecutive indices and the tree has one linear history; the leaf bytes, the new subtree
hashes and the head's size commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sendx.exchange.log.merkle import HASH_SIZE, DamagedLogError
from sendx.exchange.store.database import (
    LOG_HEAD_SET,
    LOG_HEAD_SIZE,
    LogLeaf,
    LogNode,
    PreviousLogEntry,
    PreviousLogHead,
    PreviousLogNode,
    utcnow,
)
from sendx.validators.errors import ConfigError

__all__ = ["SqlEntryStore", "SqlNodeStore", "append_leaves", "open_log"]


_CHUNK = 200
_INSERT_NODES = LogNode.__table__.insert()
_INSERT_LEAVES = LogLeaf.__table__.insert()


@dataclass(frozen=True)
class _Tables:
    """Where one log lives: the hub's log, or the frozen log it kept before leaf format 2."""

    leaves: Any
    nodes: Any
    size: Any  # the statement reading the log's size


_CURRENT = _Tables(LogLeaf, LogNode, LOG_HEAD_SIZE)
_PREVIOUS = _Tables(PreviousLogEntry, PreviousLogNode, select(PreviousLogHead.size).where(PreviousLogHead.id == 1))


@cache
def _nodes_query(count: int, nodes: Any = LogNode) -> Select[tuple[int, int, bytes]]:
    """``count`` (level, index) point lookups, built once per count.

    One OR of primary-key equalities, which SQLite and PostgreSQL both answer with an index
    search per term (a row-value ``IN`` makes SQLite scan the table).  Building the
    expression is what costs: SQLAlchemy constructs and hashes every term, several
    milliseconds for a proof, so the statement is kept and only its parameters change.
    """
    terms = (and_(nodes.level == bindparam(f"l{n}"), nodes.index == bindparam(f"i{n}")) for n in range(count))
    return select(nodes.level, nodes.index, nodes.hash).where(or_(*terms))


_RESTORE = "the database was altered: restore the log tables from a backup"


def _stored_bytes(value: Any, what: str, size: int | None = None) -> bytes:
    """A stored hash or leaf as bytes; anything else (text, a number, a short hash) is damage."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise DamagedLogError(
            f"the log store is damaged: {what} is stored as {type(value).__name__}, not bytes", hint=_RESTORE
        )
    raw = bytes(value)
    if size is not None and len(raw) != size:
        raise DamagedLogError(f"the log store is damaged: {what} is {len(raw)} bytes, not {size}", hint=_RESTORE)
    return raw


class SqlNodeStore:
    """``NodeStore`` over the ``log_nodes`` table, sized by the ``log_head`` row.

    ``locked_size`` is the size ``Store.lock_log_head`` returned: given, this store may append.
    ``head`` is the size the head row holds now when the lock already advanced it: an append
    that ends there leaves the row as it is.
    """

    def __init__(
        self,
        db: Session | Connection,
        locked_size: int | None = None,
        *,
        head: int | None = None,
        tables: _Tables = _CURRENT,
    ) -> None:
        self.db = db
        self.tables = tables
        self.appendable = locked_size is not None and tables is _CURRENT
        self._size = locked_size if locked_size is not None else db.execute(tables.size).scalar()
        if self._size is None:
            raise ConfigError("the hub database has no log head row", hint="run `sendx admin init`")
        self._head = self._size if head is None else head

    def size(self) -> int:
        return int(self._size)

    def get_many(self, keys: Sequence[tuple[int, int]]) -> list[bytes]:
        if not keys:
            return []
        found: dict[tuple[int, int], bytes] = {}
        wanted = sorted(set(keys))
        # Chunked so a huge proof never builds an unbounded OR list.
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            params = {f"l{n}": lv for n, (lv, _) in enumerate(chunk)} | {f"i{n}": ix for n, (_, ix) in enumerate(chunk)}
            for lv, ix, h in self.db.execute(_nodes_query(len(chunk), self.tables.nodes), params):
                found[(lv, ix)] = _stored_bytes(h, f"node ({lv}, {ix})", HASH_SIZE)
        missing = [k for k in keys if k not in found]
        if missing:
            raise DamagedLogError(f"the log store is damaged: node {missing[0]} is missing", hint=_RESTORE)
        return [found[k] for k in keys]

    def put_many(self, nodes: Sequence[tuple[int, int, bytes]], size: int) -> None:
        if not self.appendable:
            raise ConfigError("appending to the log needs the locked log head")
        if nodes:
            self.db.execute(_INSERT_NODES, [{"level": lv, "index": ix, "hash": h} for lv, ix, h in nodes])
        if size != self._head:
            self.db.execute(LOG_HEAD_SET, {"size": size, "updated_at": utcnow()})
            self._head = size
        self._size = size


class SqlEntryStore:
    """``EntryStore`` over the ``log_leaves`` table (leaf bytes by index)."""

    def __init__(self, db: Session | Connection, nodes: SqlNodeStore) -> None:
        self.db = db
        self.nodes = nodes

    def size(self) -> int:
        # One head row sizes both stores; they are written in the same transaction.
        return self.nodes.size()

    def get_range(self, start: int, end: int) -> list[bytes]:
        leaves = self.nodes.tables.leaves
        rows = self.db.execute(
            select(leaves.index, leaves.leaf).where(leaves.index >= start, leaves.index < end).order_by(leaves.index)
        ).all()
        for n, (ix, _) in enumerate(rows):
            if ix != start + n:
                raise DamagedLogError(f"the log store is damaged: entry {start + n} is missing", hint=_RESTORE)
        if len(rows) != end - start:
            raise DamagedLogError(f"the log store is damaged: entry {start + len(rows)} is missing", hint=_RESTORE)
        return [_stored_bytes(leaf, f"entry {ix}") for ix, leaf in rows]

    def append_many(self, start: int, entries: Sequence[bytes]) -> None:
        now = utcnow()
        self.db.execute(
            _INSERT_LEAVES, [{"index": start + i, "leaf": leaf, "created_at": now} for i, leaf in enumerate(entries)]
        )


def open_log(
    db: Session | Connection, locked_size: int | None = None, *, head: int | None = None, previous: bool = False
) -> Any:
    """The hub's ``TransparencyLog`` inside this transaction (locked size given = may append);
    ``previous``: the frozen log the hub kept before leaf format 2 (read only)."""
    from sendx.exchange.log.transparency import TransparencyLog

    nodes = SqlNodeStore(db, locked_size, head=head, tables=_PREVIOUS if previous else _CURRENT)
    return TransparencyLog(nodes, SqlEntryStore(db, nodes))


def append_leaves(
    db: Session | Connection, locked_size: int, leaves: Sequence[bytes], *, reserved: bool = False
) -> int:
    """Append leaf bytes (the caller holds the head lock, which gave ``locked_size``); return the first index.

    ``reserved``: the lock already advanced the head by these leaves (``lock_log_head(grow=…)``).
    """
    head = locked_size + len(leaves) if reserved else None
    start = open_log(db, locked_size, head=head).append_many(leaves)
    if start != locked_size:  # pragma: no cover - the lock makes this impossible
        raise ConfigError("the log head moved during an append")
    return start
