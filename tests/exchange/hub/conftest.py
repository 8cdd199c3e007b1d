"""Hub fixtures: ``app`` and ``client`` per Flask habit, over every store backend.

Each test runs on SQLite, and on PostgreSQL when ``SENDX_TEST_POSTGRES_URL`` is set (start
one with ``.ci/postgres.sh``).  With ``CI=true`` a missing URL fails the PostgreSQL tests
instead of skipping them, so CI cannot silently run half the suite.  ``world`` registers a
small cast of participants (two LAs, schools, an AP setting, a college, a health trust, an
admin), each with a signing key and an API token.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hub_helpers import Actor, register_cast
from sqlalchemy import create_engine

MAX_BODY = 256 * 1024


def _postgres_url() -> str:
    url = os.environ.get("SENDX_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but SENDX_TEST_POSTGRES_URL is not set: the PostgreSQL hub tests must run in CI")
        pytest.skip("SENDX_TEST_POSTGRES_URL is not set (run .ci/postgres.sh to get one)")
    engine = create_engine(url)
    with engine.begin() as conn:  # a clean schema per test: migrations run from scratch
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    return _postgres_url()


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    from sendx.exchange.hub import create_app

    app = create_app(
        {
            "SENDX_HOME": str(tmp_path / "home"),
            "SENDX_DATABASE_URL": database_url,
            "SENDX_MAX_BODY_BYTES": MAX_BODY,
            "TESTING": True,
        }
    )
    yield app
    app.extensions["sendx.hub"].store.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def hub(app):
    return app.extensions["sendx.hub"]


@pytest.fixture
def world(hub) -> dict[str, Actor]:
    """Every participant of ``CAST`` registered, with a key and a token."""
    return register_cast(hub)
