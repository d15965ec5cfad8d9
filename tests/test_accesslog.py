"""Access logs never hold a query string: a typed ID number must not reach a log file."""

from __future__ import annotations

import contextlib
import logging
import runpy
import threading
import urllib.error
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from werkzeug.serving import make_server

from registry.web.accesslog import RedactedRequestHandler, redact_queries

NUMBER = "11010519491231002X"


def test_queries_are_redacted_wherever_they_appear() -> None:
    line = f'"GET /cells/search?q={NUMBER}&lang=en HTTP/1.1" 303 -'
    assert redact_queries(line) == '"GET /cells/search?[redacted] HTTP/1.1" 303 -'
    assert redact_queries("GET /cells/ HTTP/1.1") == "GET /cells/ HTTP/1.1"


def test_the_development_server_logs_the_path_without_the_query(app, caplog) -> None:
    server = make_server("127.0.0.1", 0, app, request_handler=RedactedRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/cells/search?q={NUMBER}"
            # Not logged in: the answer does not matter here, the log line does.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(url)
    finally:
        server.shutdown()
        thread.join()
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any("/cells/search?[redacted]" in line for line in lines), lines
    assert not [line for line in lines if NUMBER in line or "q=" in line]


def test_registry_serve_uses_the_redacting_handler(monkeypatch) -> None:
    from flask import Flask

    from registry.cli import main

    seen = {}
    monkeypatch.setattr("registry.app.create_app", lambda: Flask("stand-in"))
    monkeypatch.setattr(Flask, "run", lambda self, **options: seen.update(options))
    result = CliRunner().invoke(main, ["serve", "--port", "5046"])
    assert result.exit_code == 0, result.output
    assert seen["request_handler"] is RedactedRequestHandler


def test_gunicorn_logs_the_path_alone() -> None:
    settings = runpy.run_path(str(Path(__file__).parent.parent / "gunicorn.conf.py"))
    log_format = settings["access_log_format"]
    assert "%(U)s" in log_format  # the path without its query
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%({"):  # request line, query, referrer, headers
        assert atom not in log_format
