"""HTTP plumbing: the threaded server, one request's life, faults, and the request log.

Standard library only (``http.server.ThreadingHTTPServer``), HTTP/1.1 with keep-alive.
Each response goes out in a single write with ``TCP_NODELAY`` set, so a client on a
kept-alive connection never waits for Nagle's algorithm or a delayed ACK.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

from . import auth, control, orders, page, sessions, transactions, validation
from .routing import ApiError, Request, Response, Route, Router
from .runtime import Runtime

SERVER_NAME = "dintero-emulator"


def build_router() -> Router:
    router = Router()
    auth.register(router)
    orders.register(router)
    sessions.register(router)
    transactions.register(router)
    page.register(router)
    control.register(router)
    return router


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets bursts of parallel connections.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        runtime: Runtime,
        *,
        quiet: bool = True,
        log_stream: TextIO | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.runtime = runtime
        self.router = build_router()
        self.quiet = quiet
        self.log_stream = log_stream or sys.stdout
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._connection_ids = itertools.count(1)
        super().__init__(address, RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, connection: socket.socket) -> int:
        with self._connections_lock:
            self._connections.add(connection)
        return next(self._connection_ids)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Hang up kept-alive connections so their threads end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection_id = self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        """Silence http.server's own stderr lines; we log one line per request."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # --- one request ------------------------------------------------------------------
    def _handle(self) -> None:
        started = time.perf_counter()
        request = self._parse()
        route: Route | None = None
        try:
            route, params = self.server.router.match(request.method, request.path)
        except ApiError as error:
            response: Response | None = error.response()
        else:
            request.params = {name: unquote(value) for name, value in params.items()}
            request.operation = route.operation
            if route.public:
                request.fault = self.server.runtime.faults.pick(route.operation)
            response = self._run(route, request)
            # Saved before answering: a client that got its answer finds it after a restart.
            self.server.runtime.persist()
        if response is None:
            # Log first: the connection may now hang for a long time.
            self._record(request, route, None, started)
            assert request.fault is not None
            self._drop(request.fault.action, request.fault.hang)
            return
        # Log before answering, so a client that reads the log next always finds it.
        self._record(request, route, response, started)
        self._send(response)

    def _parse(self) -> Request:
        parts = urlsplit(self.path)
        return Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
            client_ip=str(self.client_address[0]),
        )

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    continue
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _run(self, route: Route, request: Request) -> Response | None:
        """Apply the request's fault around the handler; None means: drop the connection."""
        fault = request.fault
        action = fault.action if fault is not None else ""
        if fault is not None and action == "latency":
            self.server.runtime.stopping.wait(fault.seconds)
        elif fault is not None and action == "error_before":
            return _injected(fault.status, "before the request was processed (nothing applied)")
        elif fault is not None and action == "rate_limit":
            headers = [("Retry-After", str(fault.retry_after))]
            return ApiError(429, "too many requests (injected)", headers=headers).response()
        elif fault is not None and action in ("timeout_before", "reset_before"):
            return None
        response = self._dispatch(route, request)
        if fault is not None and action == "error_after":
            return _injected(fault.status, "after the request was processed (it WAS applied)")
        if fault is not None and action in ("timeout_after", "reset_after"):
            return None
        return response

    def _dispatch(self, route: Route, request: Request) -> Response:
        runtime = self.server.runtime
        try:
            if route.auth:
                auth.authenticate(runtime, request)
            if route.auth or route.operation == "token":  # Dintero's API, not our pages
                validation.json_content_type(runtime.config, request)
            return route.handler(runtime, request)
        except ApiError as error:
            return error.response()
        except Exception:
            traceback.print_exc()
            return ApiError(500, "internal emulator error", "INTERNAL_ERROR").response()

    def _drop(self, action: str, hang: float) -> None:
        """End the exchange without an answer: hang then close, or reset at once."""
        self.close_connection = True
        if action.startswith("timeout"):
            self.server.runtime.stopping.wait(hang)
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        # SO_LINGER 0 makes close() send a TCP RST instead of an orderly FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.rfile.close()

    def _send(self, response: Response) -> None:
        reason = self.responses.get(response.status, ("",))[0]
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Date: {self.date_time_string()}",
            f"Server: {SERVER_NAME}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
        ]
        for name, value in response.headers:
            lines.append(f"{name}: {_header_safe(value)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + response.body)
        except OSError:
            self.close_connection = True

    # --- logging ----------------------------------------------------------------------
    def _record(
        self, request: Request, route: Route | None, response: Response | None, started: float
    ) -> None:
        runtime = self.server.runtime
        fault = request.fault.action if request.fault is not None else None
        status = response.status if response is not None else None
        duration = (time.perf_counter() - started) * 1000
        if route is None or route.public:
            runtime.request_log.append(
                {
                    "time": runtime.clock.iso(),
                    "method": request.method,
                    "path": request.path,
                    "query": urlsplit(self.path).query,
                    "operation": request.operation,
                    "status": status,
                    "fault": fault,
                    "connection_id": self.connection_id,
                    "duration_ms": round(duration, 3),
                }
            )
        if not self.server.quiet:
            extra = f" fault={fault}" if fault else ""
            self.server.log_stream.write(
                f"{request.method} {request.path} -> {status or 'no response'} "
                f"[{request.operation}] {duration:.1f} ms conn={self.connection_id}{extra}\n"
            )
            self.server.log_stream.flush()


def _injected(status: int, when: str) -> Response:
    return ApiError(status, f"injected fault: error {when}", "INJECTED_FAULT").response()


def _header_safe(value: str) -> str:
    """Percent-encode what HTTP/1.1 headers cannot carry (e.g. a unicode return_url)."""
    if value.isascii() and "\r" not in value and "\n" not in value:
        return value
    return quote(value, safe=":/?#[]@!$&'()*+,;=%~")
