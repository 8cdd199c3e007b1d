"""The sender policy: who may put which kind of document into the hub, and which claims inside it
must be the sender's own registered identity.

Sits in the *exchange* step, after a document is authenticated (token, signature) and validated
and before anything is stored: a signature proves who sent a document, this table checks that
what the document *says* about who made it (a plan's LA, a passport's issuer, a movement's
recorder, a CTF's source and destination) is that sender.  ``POLICY`` is the one table, for every
way a document enters (each kind on ``POST /v1/transfers``, ``POST /v1/movements``, a lost-pupil
redirect); the services call ``enforce`` and nothing else decides, the README's table and
``/openapi.json``'s ``x-sendx-policy`` are rendered from it, and the tests walk it cell by cell.

An LA sends a CTF only for a child whose record the LA itself holds (a child missing education
who is found, or one educated otherwise than at school, joining a school): it is registered with
an LAESTAB of its own area for those records, that is the source the file must name, and the file
goes to a school, never to the lost-pupil pool.  A participant with no LAESTAB sends no CTF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sendx.exchange.hub.errors import ForgedClaimError
from sendx.exchange.store import Participant
from sendx.validators.errors import ForbiddenError, NotFoundError

__all__ = [
    "LOST_PUPIL_REDIRECT",
    "MOVEMENTS",
    "POLICY",
    "TRANSFERS",
    "Claim",
    "Entry",
    "Submission",
    "enforce",
    "enforce_role",
    "entry",
    "markdown_table",
    "openapi_policy",
]

TRANSFERS = "POST /v1/transfers"
MOVEMENTS = "POST /v1/movements"
LOST_PUPIL_REDIRECT = "POST /v1/lost-pupils/{lid}/redirect"

#: A setting's identifiers, as a movement's ``from``/``to`` and the participant register name them.
_SETTING_IDS = ("urn", "laestab", "ukprn")
#: The identifier an adjustment passport's ``issuer.id`` carries, by issuer type (= the sender's role).
_ISSUER_IDS = {"la": ("la",), "school": ("urn", "laestab"), "college": ("ukprn",), "health": ("ods",)}


@dataclass(frozen=True)
class Submission:
    """What one claim check looks at: who sent what, to whom.

    ``document`` is the parsed JSON document, or for a CTF the header facts the hub read
    (``_seams.CtfRoute``); ``addressed_to`` is the envelope's recipient as written and ``recipient``
    the participant it resolved to (None for the lost-pupil pool); for a redirect ``document`` is the
    pool entry.
    """

    sender: Participant
    document: Any
    recipient: Participant | None = None
    addressed_to: str | None = None


@dataclass(frozen=True)
class Claim:
    """One claim a document makes that must be the sender's own; ``check`` says why not, or None."""

    id: str
    where: str
    rule: str
    check: Callable[[Submission], str | None]
    #: The answer when the claim is false: 403, or 404 where telling "not yours" would be an oracle.
    status: int = 403


@dataclass(frozen=True)
class Entry:
    """One way in for one kind: the roles that may use it and the claims checked on it."""

    route: str
    kind: str
    roles: tuple[str, ...]
    claims: tuple[Claim, ...]
    why: str


# ------------------------------------------------------------------ claim checks


def _text(doc: Any, *path: str) -> str | None:
    for key in path:
        doc = doc.get(key) if isinstance(doc, Mapping) else None
    return doc.strip() if isinstance(doc, str) else None


def _plan_la(s: Submission) -> str | None:
    code = _text(s.document, "la", "code")
    if s.sender.la and code == s.sender.la:
        return None
    return f"the plan is issued by LA {code!r}, but you are {s.sender.id} (LA {s.sender.la!r})"


def _issuer_type(s: Submission) -> str | None:
    kind = _text(s.document, "issuer", "type")
    if kind == s.sender.role:
        return None
    return f"the passport's issuer is a {kind!r}, but you are {s.sender.id}, a {s.sender.role}"


def _issuer_id(s: Submission) -> str | None:
    given = _text(s.document, "issuer", "id")
    mine = [getattr(s.sender, a) for a in _ISSUER_IDS.get(s.sender.role, ()) if getattr(s.sender, a)]
    if given in mine:
        return None
    return f"the passport's issuer id {given!r} is not yours ({', '.join(mine) or 'no registered identifier'})"


def _recorder(s: Submission) -> str | None:
    recorder = _text(s.document, "recordedBy", "participant")
    if recorder == s.sender.id:
        return None
    return f"recordedBy.participant {recorder!r} is not you ({s.sender.id!r})"


def _recorder_role(s: Submission) -> str | None:
    role = _text(s.document, "recordedBy", "role")
    if role is None or role == s.sender.role:
        return None
    return f"recordedBy.role {role!r} is not your role ({s.sender.role!r})"


def _ends(event: Any) -> list[Mapping[str, Any]]:
    return [e for e in (event.get("from"), event.get("to")) if isinstance(e, Mapping)]


def _end_la(end: Mapping[str, Any]) -> str | None:
    la = end.get("la") or str(end.get("laestab") or "")[:3]
    return str(la) if la else None


def _own_ends(sender: Participant, event: Any) -> Iterator[Mapping[str, Any]]:
    """The ends of a movement that name the sender's own setting (by URN, LAESTAB or UKPRN)."""
    for end in _ends(event):
        if any(getattr(sender, a) and end.get(a) == getattr(sender, a) for a in _SETTING_IDS):
            yield end


def _movement_party(s: Submission) -> str | None:
    if s.sender.role == "la":
        if s.sender.la and any(_end_la(e) == s.sender.la for e in _ends(s.document)):
            return None
        return f"neither end of this movement is in your area (LA {s.sender.la})"
    if any(True for _ in _own_ends(s.sender, s.document)):
        return None
    return "neither end of this movement is your setting (matched by URN, LAESTAB or UKPRN)"


def _own_end_identity(s: Submission) -> str | None:
    for end in _own_ends(s.sender, s.document):
        for attr in (*_SETTING_IDS, "la"):
            given, mine = end.get(attr), getattr(s.sender, attr)
            if given is not None and given != mine:
                return f"your end of this movement gives {attr} {given!r}; yours is {mine!r}"
    return None


def _ctf_source(s: Submission) -> str | None:
    claimed, mine = s.document.source_laestab, s.sender.laestab
    if mine and claimed == mine:
        return None
    if not mine:
        return f"the CTF says it comes from {claimed}, but {s.sender.id} has no registered LAESTAB to send CTFs from"
    return f"the CTF's source school {claimed} is not you ({mine})"


def _ctf_source_urn(s: Submission) -> str | None:
    claimed = s.document.source_urn
    if claimed is None or claimed == s.sender.urn:
        return None
    return f"the CTF's source URN {claimed} is not yours ({s.sender.urn or 'none registered'})"


def _ctf_destination(s: Submission) -> str | None:
    route, to = s.document, s.recipient
    dest = (route.destination_laestab or "").upper()
    if to is None:  # addressed to the pool: the header must name the same pool
        pool = (s.addressed_to or "").strip().upper()
        if dest and pool and dest[0] == pool[0] and dest in _POOL_CODES:
            return None
        return f"the envelope is addressed to the pool {pool!r} but the CTF's header names {dest or 'no destination'}"
    if to.laestab and dest == to.laestab and route.destination_urn in (None, to.urn):
        return None
    if not to.laestab and to.urn and route.destination_urn == to.urn:
        return None
    return (
        f"the CTF's header names destination {dest or '-'} (URN {route.destination_urn or '-'}), "
        f"not the envelope's recipient {to.id} ({to.laestab or '-'}, URN {to.urn or '-'})"
    )


def _la_ctf_to_school(s: Submission) -> str | None:
    if s.sender.role != "la":
        return None
    if s.recipient is not None and s.recipient.role == "school":
        return None
    return "an LA sends a CTF only to the school a child it holds the record of is joining, not to the pool"


def _pool_entry_area(s: Submission) -> str | None:
    if s.document.source_la == s.sender.la:
        return None
    return f"no lost-pupil record {s.document.id} in LA {s.sender.la}"


#: The lost-pupil pool's destination codes (S2S): unknown (XXX) and independent or abroad (MMM).
_POOL_CODES = frozenset({"XXXXXXX", "MMMMMMM"})


def _movement_claims(at: str) -> tuple[Claim, ...]:
    """The claims of a movement event whose JSON sits at ``at`` (``/document`` inside an envelope)."""
    ends = f"{at}/from, {at}/to"
    return (
        Claim("movement.recorder", f"{at}/recordedBy/participant", "is the sender's participant id", _recorder),
        Claim("movement.recorder-role", f"{at}/recordedBy/role", "if given, is the sender's role", _recorder_role),
        Claim(
            "movement.party",
            ends,
            "one end is the sender's setting (URN, LAESTAB or UKPRN); for an LA, one end is in its area",
            _movement_party,
        ),
        Claim(
            "movement.own-end",
            ends,
            "the sender's own end gives only the sender's registered URN, LAESTAB, UKPRN and LA",
            _own_end_identity,
        ),
    )


_D = "/document"

#: The one table: every way a document enters the hub, who may use it, what must be theirs.
POLICY: tuple[Entry, ...] = (
    Entry(
        TRANSFERS,
        "ehcp",
        ("la",),
        (Claim("ehcp.la", f"{_D}/la/code", "is the sender's LA code", _plan_la),),
        "only a local authority issues an EHC plan, and only its own",
    ),
    Entry(
        TRANSFERS,
        "passport",
        ("la", "school", "college", "health"),
        (
            Claim("passport.issuer-type", f"{_D}/issuer/type", "is the sender's role", _issuer_type),
            Claim(
                "passport.issuer-id",
                f"{_D}/issuer/id",
                "is the sender's registered identifier (LA code; URN or LAESTAB; UKPRN; ODS code)",
                _issuer_id,
            ),
        ),
        "an organisation issues passports in its own name only",
    ),
    Entry(
        TRANSFERS,
        "movement",
        ("school", "college", "la"),
        _movement_claims(_D),
        "the same checks as POST /v1/movements: a setting records its own moves, an LA those of its area",
    ),
    Entry(
        TRANSFERS,
        "ctf",
        ("school", "la"),
        (
            Claim(
                "ctf.source",
                f"{_D}/Header/SourceSchool/LEA+Estab",
                "is the sender's registered LAESTAB (no LAESTAB: no CTFs)",
                _ctf_source,
            ),
            Claim("ctf.source-urn", f"{_D}/Header/SourceSchool/URN", "if given, is the sender's URN", _ctf_source_urn),
            Claim(
                "ctf.destination",
                f"{_D}/Header/DestSchool",
                "is the envelope's recipient (its LAESTAB, and URN if given), or the pool (XXX/MMM) it is sent to",
                _ctf_destination,
            ),
            Claim(
                "ctf.la-to-school",
                "/recipient",
                "is a school when the sender is an LA (records it holds itself: a child missing education "
                "found, or one educated otherwise, joining a school)",
                _la_ctf_to_school,
            ),
        ),
        "a school sends its own leavers' files; an LA only records it holds itself, from its own LAESTAB",
    ),
    Entry(
        TRANSFERS,
        "health-advice",
        ("health",),
        (),
        "health advice comes from an NHS organisation (the signature says which)",
    ),
    Entry(
        MOVEMENTS,
        "movement",
        ("school", "college", "la"),
        _movement_claims(""),
        "a setting records its own moves, an LA those of its area",
    ),
    Entry(
        LOST_PUPIL_REDIRECT,
        "ctf",
        ("la",),
        (
            Claim(
                "redirect.area",
                "/v1/lost-pupils/{lid}",
                "the pooled pupil left a school in the sender's area (else 404)",
                _pool_entry_area,
                404,
            ),
        ),
        "the LA of the school a pupil left finds and redirects the pupil's one-pupil file",
    ),
)
_BY_KEY = {(e.route, e.kind): e for e in POLICY}


def entry(route: str, kind: str) -> Entry:
    """The table's row for this way in and kind (every kind the envelope schema allows has one)."""
    return _BY_KEY[(route, kind)]


def enforce_role(route: str, kind: str, sender: Participant) -> None:
    """Refuse a sender whose role may not use this way in for this kind (before reading the document)."""
    row = entry(route, kind)
    if sender.role not in row.roles:
        raise ForbiddenError(
            f"a {sender.role} may not send a {kind} here ({route}): {row.why}",
            hint=f"this needs the role {' or '.join(row.roles)}",
        )


def enforce(route: str, kind: str, submission: Submission) -> None:
    """Refuse the submission unless the sender's role may use this way in and every claim is its own."""
    enforce_role(route, kind, submission.sender)
    for claim in entry(route, kind).claims:
        problem = claim.check(submission)
        if problem is None:
            continue
        if claim.status == 404:
            raise NotFoundError(problem)
        raise ForgedClaimError(problem, where=claim.where, hint=f"{claim.where} must be yours: it {claim.rule}")


# ------------------------------------------------------------------ the table, rendered


def markdown_table() -> str:
    """``POLICY`` as the README shows it (a test keeps the README's copy equal to this)."""
    lines = ["| way in | kind | who may send | claim | where | must be |", "|---|---|---|---|---|---|"]
    for row in POLICY:
        roles = ", ".join(row.roles)
        claims = row.claims or (None,)
        for n, c in enumerate(claims):
            head = f"| `{row.route}` | `{row.kind}` | {roles} |" if n == 0 else "| | | |"
            if c is None:
                lines.append(f"{head} — | | (the role only: {row.why}) |")
            else:
                lines.append(f"{head} `{c.id}` | `{c.where}` | {c.rule} |")
    return "\n".join(lines) + "\n"


def openapi_policy(route: str) -> list[dict[str, Any]]:
    """The ``x-sendx-policy`` extension of one operation: its rows of ``POLICY``."""
    return [
        {
            "kind": row.kind,
            "roles": list(row.roles),
            "why": row.why,
            "claims": [{"id": c.id, "where": c.where, "mustBe": c.rule, "refusedWith": c.status} for c in row.claims],
        }
        for row in POLICY
        if row.route == route
    ]
