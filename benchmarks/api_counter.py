"""A counting proxy in front of the API server: every system under benchmark talks to the API server
through its own instance, so their requests are counted the same way (one count per HTTP request,
a watch counting once however long it streams).

The local cluster's API server keeps no audit log and runs without API Priority and Fairness, so
neither the audit log nor apiserver_request_total (which has no client label) can tell the
systems apart; counting at the connection can. The proxy speaks plain HTTP on 127.0.0.1 and forwards
over TLS with the cluster's client certificate, so a client configured with its kubeconfig
(kubeconfig_for) acts as the cluster's administrator, as with the cluster's own kubeconfig.
"""

import http.client
import json
import socket
import ssl
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

# Hop-by-hop headers: each side of the proxy has its own connection and framing.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


class CountingProxy:
    def __init__(self, kubeconfig_path):
        config = json.loads(open(kubeconfig_path).read())
        context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        upstream = urlparse(cluster["server"])
        tls = ssl.create_default_context(cafile=cluster["certificate-authority"])
        tls.load_cert_chain(user["client-certificate"], user["client-key"])
        self.requests = Counter()  # by HTTP method
        self.lock = threading.Lock()
        self.context_name = config["current-context"]
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream_connection = None

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # A response goes out as headers, then chunks: without this, Nagle's algorithm holds
                # each chunk for the client's delayed acknowledgement, some 40 ms a request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _forward(self):
                with proxy.lock:
                    proxy.requests[self.command] += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
                # One upstream connection per client connection, reused as the client reuses its own.
                if self.upstream_connection is None:
                    self.upstream_connection = http.client.HTTPSConnection(
                        upstream.hostname, upstream.port, context=tls, timeout=3600)
                try:
                    self.upstream_connection.request(self.command, self.path, body=body, headers=headers)
                    response = self.upstream_connection.getresponse()
                except (OSError, http.client.HTTPException):
                    self.upstream_connection.close()
                    self.upstream_connection = None
                    self.send_error(502)
                    return
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(key, value)
                if self.command == "HEAD" or response.status in (204, 304):
                    response.read()
                    self.end_headers()
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    # read1 returns what has arrived, so a watch's events pass through as they come.
                    while True:
                        chunk = response.read1(65536)
                        if not chunk:
                            break
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    # Marks the response done, so the upstream connection takes the next request.
                    response.close()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (OSError, http.client.HTTPException):
                    self.close_connection = True
                    self.upstream_connection.close()
                    self.upstream_connection = None

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward

            def finish(self):
                if self.upstream_connection is not None:
                    self.upstream_connection.close()
                super().finish()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return sum(self.requests.values())

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig_for(self, path):
        """Writes a kubeconfig (same context name as the cluster's) that reaches the API server through
        this proxy, and returns its path."""
        config = {"apiVersion": "v1", "kind": "Config", "current-context": self.context_name,
                  "clusters": [{"name": self.context_name, "cluster": {"server": self.url}}],
                  "users": [{"name": "counted", "user": {}}],
                  "contexts": [{"name": self.context_name, "context": {"cluster": self.context_name,
                                                                       "user": "counted"}}]}
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)
        return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
