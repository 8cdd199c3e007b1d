"""Running the hub: gunicorn with N workers in production, Flask's threaded server for one.

Each gunicorn worker builds its own app (and so its own database pool) after the fork;
the schema is migrated once beforehand by ``sendx serve``, and the log-head lock keeps the
workers' appends in one history.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run"]


def run(host: str, port: int, workers: int = 1, *, threads: int = 1, config: dict[str, Any] | None = None) -> None:
    from exchange.hub import create_app

    cfg = {**(config or {}), "SENDX_AUTO_MIGRATE": False}
    if workers <= 1 and threads <= 1:
        create_app(cfg).run(host=host, port=port, threaded=True)
        return

    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("preload_app", False)  # never share a DB connection across fork
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)

        def load(self) -> Any:
            return create_app(cfg)

    _Gunicorn().run()
