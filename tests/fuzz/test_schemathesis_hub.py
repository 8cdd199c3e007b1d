"""schemathesis against a running hub: every operation of ``/openapi.json``, with and without a token.

A real hub (werkzeug's threaded server on 127.0.0.1, SQLite, the cast of participants
registered) serves its own OpenAPI document; schemathesis generates requests for every
operation from it — valid and invalid ones — and checks each response: never a 5xx, a
status code and content type the document lists, a body matching the documented schema,
invalid requests refused and valid ones not.  It runs once anonymously and once as each
kind of participant, so the authenticated paths are exercised, not only the 401s.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st

from sendx.exchange.hub.server import local_server
from sendx.exchange.hub.service.throttle import TokenThrottle
from tests.fuzz.fuzzkit import CASES, LONG, profile_settings

if os.environ.get("CI") == "true":
    import schemathesis  # CI installs the test extra: a missing schemathesis is a failure there
else:
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install '.[test]')")

#: Cases per operation, each from a caller drawn from CALLERS: 24 operations x this, under ~90 s by default.
EXAMPLES = 1000 if LONG else 30
CALLERS = [None, "admin", "la-330", "school-145832"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # Overrides the hub fixtures' backend parameter: this run is on SQLite only.
    return f"sqlite:///{tmp_path / 'hub.sqlite'}"


@pytest.fixture
def live_hub(app, world) -> Iterator[str]:
    server = local_server(app, quiet=True)
    thread = threading.Thread(target=server.serve_forever, name="sendx-hub", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


#: Operations where a schema-valid request may still be refused (400/422), and why: what makes
#: it acceptable is state or arithmetic no JSON Schema can say.  Every other operation must
#: accept all data its schema allows; every operation must reject what its schema forbids.
BEYOND_SCHEMA = {
    "^/v1/log/": "an index or size must lie inside the log's current size",
    "^/v1/inbox$": "the paging cursor is an opaque token only the hub issues",
    "^/v1/participants$": "identifiers carry check digits; each role needs its own identifier",
    "^/v1/lost-pupils/": "the recipient must be a registered school",
    "^/v1/(movements|transfers)$": "documents must meet the national-standard rules (422 lists the issues)",
    "^/v1/movements/export$": "'from' may not be after 'to', and an empty date is no date",
}
CONFIG = {
    "operations": [
        {
            "include-path-regex": regex,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]}
            },
        }
        for regex in BEYOND_SCHEMA
    ]
}


@pytest.fixture
def hub_schema(live_hub: str):
    return schemathesis.openapi.from_url(f"{live_hub}/openapi.json", config=schemathesis.Config.from_dict(CONFIG))


def _as_caller(case, token: str | None) -> None:
    """Give the case the caller's token, unless the case is about a missing or broken Authorization."""
    components = case.meta.components if case.meta is not None else {}
    if token and not any(str(loc.name).lower() == "header" and c.mode.is_negative for loc, c in components.items()):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


schema = schemathesis.pytest.from_fixture("hub_schema")


@schema.parametrize()
@schema.given(caller=st.sampled_from(CALLERS))
@settings(**{**profile_settings(EXAMPLES), "print_blob": False})
def test_every_operation_conforms(case, app, world, caller: str | None) -> None:
    CASES[f"schemathesis: {case.operation.label}"] += 1
    # Each case is a new client: the unknown tokens of earlier cases (throttled per address, all
    # from 127.0.0.1 here) must not turn this one into a 429 (tests/security/test_tokens.py).
    app.extensions["sendx.hub"].token_throttle = TokenThrottle()
    _as_caller(case, world[caller].token if caller else None)
    case.call_and_validate()
