"""A local proxy in front of the real Prometheus: it can demand credentials (a bearer token or basic
auth) and be switched at runtime to the faults a monitoring backend shows mid-release."""

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEALTHY = "healthy"
STOPPED = "stopped"  # nothing listens: connection refused
SLOW = "slow"  # answers only after slow_seconds, past any sensible client timeout
SERVER_ERROR = "500"
EMPTY = "empty"  # a successful answer with no series at all
FAULTS = (STOPPED, SLOW, SERVER_ERROR, EMPTY)
EMPTY_VECTOR = {"status": "success", "data": {"resultType": "vector", "result": []}}


class PrometheusProxy:
    """Forwards /api/v1/* to upstream. fault_after(n, fault) serves n queries healthily, then the fault;
    with bearer_token or basic=(user, password) set, other requests are answered 401."""

    def __init__(self, upstream, bearer_token=None, basic=None, slow_seconds=6.0):
        self.upstream = upstream.rstrip("/")
        self.bearer_token, self.basic, self.slow_seconds = bearer_token, basic, slow_seconds
        self.lock = threading.Lock()
        self.queries = self.refused = 0
        self.healthy_queries, self.fault = None, HEALTHY
        self.server = self._serve(0)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port

    def fault_after(self, healthy_queries, fault):
        with self.lock:
            self.healthy_queries, self.fault = healthy_queries, fault
            self._apply(from_handler=False)

    def close(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _apply(self, from_handler):
        """Stops or restarts listening when the current fault is, or is no longer, STOPPED."""
        stop = self.fault == STOPPED and self.queries >= self.healthy_queries
        if stop and self.server:
            server, self.server = self.server, None
            server.socket.close()  # refuse new connections at once
            # shutdown() waits for serve_forever, which a handler's own thread cannot.
            stopping = threading.Thread(target=server.shutdown, daemon=True)
            stopping.start()
            if not from_handler:
                stopping.join()
        elif not stop and not self.server:
            self.server = self._serve(self.port)

    def _serve(self, port):
        server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def _authorized(self, headers):
        if self.bearer_token is None and self.basic is None:
            return True
        given = headers.get("Authorization") or ""
        if self.bearer_token is not None and given == "Bearer " + self.bearer_token:
            return True
        if self.basic is not None:
            expected = base64.b64encode(("%s:%s" % self.basic).encode()).decode()
            return given == "Basic " + expected
        return False

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the slow fault)

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if not proxy._authorized(self.headers):
                    with proxy.lock:
                        proxy.refused += 1
                    return self._answer(401, {"status": "error", "error": "unauthorized"})
                with proxy.lock:
                    proxy.queries += 1
                    faulty = proxy.healthy_queries is not None and proxy.queries > proxy.healthy_queries
                    fault = proxy.fault if faulty else HEALTHY
                    if proxy.fault == STOPPED:
                        proxy._apply(from_handler=True)  # stops listening once the healthy queries are served
                if fault == SLOW:
                    time.sleep(proxy.slow_seconds)
                elif fault == SERVER_ERROR:
                    return self._answer(500, b"upstream exploded\n", "text/plain")
                elif fault == EMPTY:
                    return self._answer(200, EMPTY_VECTOR)
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command)
                if self.headers.get("Content-Type"):
                    request.add_header("Content-Type", self.headers["Content-Type"])
                try:
                    with urllib.request.urlopen(request, timeout=30) as upstream:
                        return self._answer(upstream.status, upstream.read(),
                                            upstream.headers.get("Content-Type", "application/json"))
                except urllib.error.HTTPError as error:
                    return self._answer(error.code, error.read())

            do_GET = do_POST = _serve

        return Handler
