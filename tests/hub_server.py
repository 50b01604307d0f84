"""A stand-in for the Hugging Face Hub on the loopback address: the three calls the workbench's download makes.

`GET /api/models/ORG/NAME[/revision/REV]` (the commit and each file's size), then per file `HEAD` and `GET
/ORG/NAME/resolve/COMMIT/PATH`. Repos are folders on disk; every request is logged, so a test can count what
was fetched. `sizes` overrides the size a listing reports (a repo too big to fetch, without writing one).
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


class FakeHub:
    def __init__(self, repos: dict[str, Path], commit: str, sizes: dict[tuple[str, str], int] | None = None,
                 silent: bool = False) -> None:
        self.repos, self.commit, self.sizes, self.silent = repos, commit, sizes or {}, silent
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:  # quiet test output
                pass

            def do_HEAD(self) -> None:
                hub.answer(self, body=False)

            def do_GET(self) -> None:
                hub.answer(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlparse(handler.path).path)
        self.requests.append((handler.command, path))
        if self.silent:  # a Hub that accepts the connection and never answers
            threading.Event().wait(30)
            return
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and (len(parts) == 4 or len(parts) >= 6 and parts[4] == "revision"):
            return self._listing(handler, f"{parts[2]}/{parts[3]}")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._file(handler, f"{parts[0]}/{parts[1]}", "/".join(parts[4:]), body)
        self._send(handler, 404, b'{"error": "not found"}', {"Content-Type": "application/json"}, body)

    def _listing(self, handler: BaseHTTPRequestHandler, repo: str) -> None:
        folder = self.repos.get(repo)
        if folder is None:
            return self._send(handler, 404, b'{"error": "Repository not found"}',
                              {"Content-Type": "application/json", "X-Error-Code": "RepoNotFound"}, True)
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        data = {"id": repo, "modelId": repo, "sha": self.commit, "private": False,
                "siblings": [{"rfilename": f, "size": self.sizes.get((repo, f), (folder / f).stat().st_size)}
                             for f in files]}
        self._send(handler, 200, json.dumps(data).encode(), {"Content-Type": "application/json"}, True)

    def _file(self, handler: BaseHTTPRequestHandler, repo: str, name: str, body: bool) -> None:
        folder = self.repos.get(repo)
        file = None if folder is None else folder / name
        if file is None or not file.is_file():
            return self._send(handler, 404, b"", {"X-Error-Code": "EntryNotFound"}, body)
        data = file.read_bytes()
        self._send(handler, 200, data, {"X-Repo-Commit": self.commit, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                                        "Content-Type": "application/octet-stream"}, body)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str], body: bool) -> None:
        handler.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(data))}.items():
            handler.send_header(key, value)
        handler.end_headers()
        if body:
            handler.wfile.write(data)
