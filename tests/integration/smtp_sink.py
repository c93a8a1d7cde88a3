"""A minimal SMTP server on 127.0.0.1 that accepts every mail (and AUTH PLAIN) and records them, in
plain text, with STARTTLS, or over implicit TLS (a private test CA's certificate, stub_http.tls_files)."""

import base64
import email
import socketserver
import threading

from stub_http import server_tls_context, tls_files


class SmtpSink:
    """messages: [{"from", "to", "message", "tls"}]; logins: [[user, password]] (bytes).
    tls: None (plain text only), "starttls" (offers STARTTLS) or "implicit" (TLS from the first byte).
    auth: whether EHLO offers AUTH PLAIN; password: the one accepted (any, when None)."""

    def __init__(self, tls=None, auth=True, password=None):
        self.messages = []
        self.logins = []
        self.connections = 0
        context = server_tls_context(tls_files()) if tls else None
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, text):
                self.wfile.write((text + "\r\n").encode())

            def start_tls(self):
                self.connection = context.wrap_socket(self.connection, server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb", buffering=0)

            def handle(self):
                sink.connections += 1
                encrypted = tls == "implicit"
                self.reply("220 sink ESMTP")
                envelope = {"from": "", "to": []}
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    verb, argument = (line.split(" ", 1) + [""])[:2]
                    verb = verb.upper()
                    if verb == "EHLO":
                        offers = ["AUTH PLAIN"] * auth + ["STARTTLS"] * (tls == "starttls" and not encrypted)
                        self.wfile.write("".join("250-%s\r\n" % offer for offer in ["sink"] + offers).encode()
                                         + b"250 8BITMIME\r\n")
                    elif verb == "STARTTLS":
                        self.reply("220 go ahead")
                        self.start_tls()
                        encrypted = True
                    elif verb == "AUTH":
                        response = argument.rpartition(" ")[2]  # AUTH PLAIN <base64 of \0user\0password>
                        login = base64.b64decode(response).split(b"\0")[1:]
                        sink.logins.append(login)
                        accepted = password is None or login[1] == password.encode()
                        self.reply("235 authenticated" if accepted else "535 bad credentials")
                    elif verb == "MAIL":
                        envelope["from"] = argument
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        envelope["to"].append(argument)
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        data = b"".join(iter(self.rfile.readline, b".\r\n"))
                        sink.messages.append(dict(envelope, message=email.message_from_bytes(data), tls=encrypted))
                        self.reply("250 queued")
                    elif verb in ("HELO", "RSET", "NOOP"):
                        self.reply("250 ok")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # a TLS handshake attempted first (secure: try), or anything else
                        self.reply("500 unknown")
                        return

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls == "implicit":
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
