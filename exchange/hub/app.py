"""``create_app``: the Flask application factory for the sendx hub.

Configuration comes from ``SENDX_*`` environment variables, overridden by the mapping
given (see ``exchange.hub.config``).  The factory opens the store, applies migrations,
loads (or creates) the storage and log keys in the data directory, and registers one
blueprint per resource plus JSON error handlers, ``/openapi.json`` and ``/healthz``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from sendx.exchange.hub.api import (
    access_log,
    fhir,
    inbox,
    log,
    lost_pupils,
    movements,
    pages,
    participants,
    transfers,
    validate,
)
from sendx.exchange.hub.api._http import json_response, op
from sendx.exchange.hub.api.openapi import build_openapi
from sendx.exchange.hub.config import HubConfig, load_config, read_or_create_secret
from sendx.exchange.hub.errors import register_error_handlers
from sendx.exchange.hub.service import Hub
from sendx.exchange.hub.service.area_facts import rebuild_area_facts
from sendx.exchange.store.atrest import Cipher
from sendx.exchange.store.database import Store
from sendx.validators.errors import ConfigError, SendxError

__all__ = ["BLUEPRINT_MODULES", "build_hub", "create_app"]

BLUEPRINT_MODULES = [participants, transfers, inbox, lost_pupils, movements, validate, fhir, log, access_log, pages]


def _meta_openapi() -> dict[str, Any]:
    return {
        "/openapi.json": {"get": op("OpenAPI document", tag="meta", auth=False, errors=())},
        "/healthz": {"get": op("Health check", tag="meta", auth=False, errors=())},
    }


def load_log_signer(cfg: HubConfig) -> Any:
    """The hub's Ed25519 log key (C2SP note signer), created 0600 in the data directory on first run."""
    from sendx.exchange.log.checkpoint import Signer

    raw = read_or_create_secret(cfg.log_key_path, lambda: (Signer.generate(cfg.log_origin).to_text() + "\n").encode())
    try:
        return Signer.from_text(raw.decode("ascii"))
    except (UnicodeDecodeError, SendxError) as exc:
        raise ConfigError("the hub's log key file is damaged", where=str(cfg.log_key_path)) from exc


def build_hub(config: Mapping[str, Any] | None = None, *, migrate: bool = True) -> Hub:
    """A configured ``Hub`` (store migrated, keys loaded) without the web layer: for the CLI and demo."""
    cfg = load_config(config)
    store = Store(cfg.database_url)
    if migrate:
        store.migrate()
    hub = Hub(store, Cipher(cfg.storage_key), log_signer=load_log_signer(cfg), log_origin=cfg.log_origin)
    hub.config = cfg
    if migrate:
        hub.upgrade_log()  # needs the storage key: the part of migration 0002 SQL cannot do
        rebuild_area_facts(hub)  # once, after the migration that added them found records
    else:
        hub.adopt_previous_log()
    return hub


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The hub's Flask app; ``config`` keys are the ``SENDX_*`` names (they win over the environment)."""
    config = dict(config or {})
    hub = build_hub(config, migrate=bool(config.pop("SENDX_AUTO_MIGRATE", True)))
    # The instance folder is the data directory (Flask's own guess fails on the namespace package).
    app = Flask(__name__, instance_path=str(hub.config.home.resolve()))
    # The LA pages' sessions: a signed cookie whose key lives in the data directory.
    app.secret_key = pages.session_secret(hub.config.home)
    app.session_interface = pages.PageSessionInterface()
    app.config.update(pages.SESSION_SETTINGS)
    app.config.update({k: v for k, v in config.items() if not k.startswith("SENDX_")})
    app.config["MAX_CONTENT_LENGTH"] = hub.config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if hub.config.proxy_hops:
        # Only headers the configured proxies set are believed; a client's own are ignored.
        hops = hub.config.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.extensions["sendx.hub"] = hub
    for mod in BLUEPRINT_MODULES:
        app.register_blueprint(mod.bp)
    register_error_handlers(app)
    spec = build_openapi([*BLUEPRINT_MODULES])
    spec["paths"].update(_meta_openapi())

    @app.get("/openapi.json")
    def openapi() -> Response:
        return json_response(spec)

    @app.get("/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok"})

    app.extensions["sendx.openapi"] = spec
    return app
