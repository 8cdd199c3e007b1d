"""The rule registry: every check sendx makes, with its stable id, severity and source.

Rules are registered with the ``@rule`` decorator so that ``sendx rules``, the docs and the
tests all read one table.  A rule function receives the parsed document and a
``Context`` and yields ``Finding``s; the registry stamps them with the rule's id and
severity, so a rule cannot mislabel its own findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sendx.validators.context import Context
from sendx.validators.report import Issue, Severity

__all__ = ["Context", "Finding", "Rule", "all_rules", "get_rule", "memo", "rule", "run_rules"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule function yields: where, what, and optionally how to fix it."""

    location: str
    message: str
    hint: str | None = None


def memo(doc: Any, ctx: Context, build: Callable[[Any], T]) -> T:
    """``build(doc)``, computed once per document and shared by every rule that asks for it.

    Rules stay one function each; what several of them need (id sets, lower-cased text) is
    derived once instead of once per rule.  The cached value is tied to the very ``doc``
    object it was built from, so a Context reused for another document cannot serve stale facts.
    """
    hit = ctx.facts.get(build)
    if hit is not None and hit[0] is doc:
        return hit[1]  # type: ignore[no-any-return]
    value = build(doc)
    ctx.facts[build] = (doc, value)
    return value


RuleFunc = Callable[[Any, Context], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    kind: str
    source: str
    summary: str
    func: RuleFunc | None = None

    def run(self, doc: Any, ctx: Context) -> Iterator[Issue]:
        if self.func is None:
            return
        for f in self.func(doc, ctx):
            yield Issue(self.id, self.severity, f.location, f.message, f.hint)

    def issue(self, location: str, message: str, hint: str | None = None) -> Issue:
        """Build an issue for this rule directly (for checks run outside ``run_rules``)."""
        return Issue(self.id, self.severity, location, message, hint)

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "kind": self.kind,
            "summary": self.summary,
            "source": self.source,
        }


_REGISTRY: dict[str, Rule] = {}
#: Rules with a function, per kind, in registration order: the hot path of ``run_rules``.
_BY_KIND: dict[str, list[Rule]] = {}


def register(r: Rule) -> Rule:
    """Add a rule to the registry; ids are unique across sendx."""
    if r.id in _REGISTRY:
        raise ValueError(f"duplicate rule id {r.id}")
    _REGISTRY[r.id] = r
    if r.func is not None:
        _BY_KIND.setdefault(r.kind, []).append(r)
    return r


def rule(id: str, *, severity: str, kind: str, source: str, summary: str) -> Callable[[RuleFunc], Rule]:
    """Register a rule function that runs on every document of ``kind``."""

    def decorate(func: RuleFunc) -> Rule:
        return register(Rule(id, Severity(severity), kind, source, summary, func))

    return decorate


def declare(id: str, *, severity: str, kind: str, source: str, summary: str) -> Rule:
    """Register a rule whose findings are produced by a validator directly (schema, parse)."""
    return register(Rule(id, Severity(severity), kind, source, summary))


def all_rules() -> list[Rule]:
    _load_all()
    return sorted(_REGISTRY.values(), key=lambda r: (r.kind, r.id))


def get_rule(rule_id: str) -> Rule:
    _load_all()
    return _REGISTRY[rule_id]


def run_rules(kind: str, doc: Any, ctx: Context) -> list[Issue]:
    """Run every registered rule function for ``kind`` over one parsed document."""
    ctx = ctx.for_document()
    issues: list[Issue] = []
    # The hot path of validation: one plain loop, no generator stacked per rule.
    for r in _BY_KIND.get(kind, ()):
        for f in r.func(doc, ctx):  # type: ignore[misc]
            issues.append(Issue(r.id, r.severity, f.location, f.message, f.hint))
    return issues


def _load_all() -> None:
    # Importing the kinds registers their rules; done lazily so importing this module
    # stays free of side effects.
    from sendx.validators import kinds

    kinds.load_all()
