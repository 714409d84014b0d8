#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A small HTTPS server for forward_tls.sh that REQUIRES a client certificate
# from one CA. POST /echo answers JSON describing what it saw: the client
# certificate (subject, issuer, SHA-256 of the DER), the TLS version, and
# which connection and which request on it this was, so the test can prove
# connection reuse. /slow/MS waits MS ms first; /big/N answers N bytes
# (/chunked/N the same without a Content-Length); /status/NNN answers that
# status; /drop reads the request and hangs up without an answer. Every connection, request and failed
# handshake is a JSON line in --log. Binds port 0 and writes the port to
# --port-file once it listens.
import argparse
import hashlib
import http.server
import itertools
import json
import os
import socketserver
import ssl
import sys
import threading
import time

log_lock = threading.Lock()
conn_ids = itertools.count(1)


def log_event(log_path, **event):
    with log_lock, open(log_path, "a", encoding="utf-8") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")


def name_text(name):
    return ",".join(f"{k}={v}" for rdn in name for (k, v) in rdn)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    timeout = 30  # an idle kept-alive connection is dropped after this
    disable_nagle_algorithm = True  # headers and body go out as two writes

    def setup(self):
        super().setup()
        self.conn_id = next(conn_ids)
        self.n_requests = 0
        cert = self.connection.getpeercert()
        der = self.connection.getpeercert(binary_form=True)
        self.peer = {
            "subject": name_text(cert.get("subject", ())),
            "issuer": name_text(cert.get("issuer", ())),
            "cert_sha256": hashlib.sha256(der).hexdigest() if der else None,
        }
        self.tls = self.connection.version()
        log_event(self.server.log_path, event="connect", conn=self.conn_id, tls=self.tls, **self.peer)

    def log_message(self, fmt, *args):
        pass  # the JSON log is the record

    def answer(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.n_requests += 1
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        log_event(self.server.log_path, event="request", conn=self.conn_id, n=self.n_requests,
                  path=path, body_len=len(body))
        parts = path.strip("/").split("/")
        if parts[0] == "slow" and len(parts) == 2:
            time.sleep(int(parts[1]) / 1000.0)
        elif parts[0] == "big" and len(parts) == 2:
            self.answer(200, b"x" * int(parts[1]), "application/octet-stream")
            return
        elif parts[0] == "chunked" and len(parts) == 2:
            # No Content-Length: the client learns the size as it reads.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = int(parts[1])
            while left > 0:
                n = min(left, 65536)
                self.wfile.write(b"%x\r\n" % n + b"x" * n + b"\r\n")
                left -= n
            self.wfile.write(b"0\r\n\r\n")
            return
        elif parts[0] == "drop":
            self.close_connection = True  # read it, answer nothing, hang up
            return
        elif parts[0] == "status" and len(parts) == 2:
            self.answer(int(parts[1]), b'{"error":"as asked"}')
            return
        echo = dict(self.peer, tls=self.tls, conn=self.conn_id, conn_requests=self.n_requests,
                    path=self.path, body_len=len(body),
                    body_sha256=hashlib.sha256(body).hexdigest(),
                    content_type=self.headers.get("Content-Type"),
                    authorization=self.headers.get("Authorization"),
                    request_signature=self.headers.get("X-Request-Signature"),
                    expect=self.headers.get("Expect"))
        self.answer(200, json.dumps(echo).encode())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # The handshake runs in the connection's thread, so a slow or
        # failing client never holds up the accept loop.
        try:
            request.settimeout(30)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log_event(self.log_path, event="handshake_failed", error=str(e))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log_event(self.log_path, event="error", error=str(sys.exc_info()[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=args.client_ca)
    ctx.load_cert_chain(args.cert, args.key)
    server = Server(("127.0.0.1", 0), Handler)
    server.ssl_context = ctx
    server.log_path = args.log
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
