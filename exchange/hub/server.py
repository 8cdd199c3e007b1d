"""Running the hub: gunicorn with N workers in production, Flask's threaded server for one.

Each gunicorn worker builds its own app (and so its own database pool) after the fork;
the schema is migrated once beforehand by ``sendx serve``, and the log-head lock keeps the
workers' appends in one history.
"""

from __future__ import annotations

from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["local_server", "run"]


class _PathOnlyHandler(WSGIRequestHandler):
    """Request lines without the query string: queries can carry a UPN (lost-pupil search)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)


class _SilentHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def local_server(app: Any, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = False) -> BaseWSGIServer:
    """A threaded werkzeug server for one process (``port=0`` picks a free port).

    Access lines never include query strings; ``quiet`` drops them altogether (the demo).
    """
    handler = _SilentHandler if quiet else _PathOnlyHandler
    return make_server(host, port, app, threaded=True, request_handler=handler)


def run(host: str, port: int, workers: int = 1, *, threads: int = 1, config: dict[str, Any] | None = None) -> None:
    from sendx.exchange.hub import create_app

    cfg = {**(config or {}), "SENDX_AUTO_MIGRATE": False}
    if workers <= 1 and threads <= 1:
        server = local_server(create_app(cfg), host, port)
        print(f"sendx hub on http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
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
            # gunicorn ≥ 25.1 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl)
            # by default: each hub started on a machine would take it from the one before, and
            # stopping one would delete another's.  The hub has no use for it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return create_app(cfg)

    _Gunicorn().run()
