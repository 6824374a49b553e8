"""A webhook receiver on 127.0.0.1 for notice tests: records every request and answers as the test scripted."""

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """`status` once `gate` is set (at once without a gate); `status=None` never answers until the test ends."""

    status: int | None
    gate: threading.Event | None = None


class Receiver:
    """Answers requests in order from `script`; the last answer repeats."""

    def __init__(self, script: list[Answer]) -> None:
        self.script = script
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    answer = receiver.script[min(len(receiver.requests), len(receiver.script)) - 1]
                if answer.status is None:
                    receiver._closing.wait()
                    return
                if answer.gate is not None:
                    answer.gate.wait()
                self.send_response(answer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()
        for answer in self.script:
            if answer.gate is not None:
                answer.gate.set()
        self.server.shutdown()
        self.server.server_close()
