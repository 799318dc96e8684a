#!/usr/bin/env python3
# jwks-server.py: the tests' own HTTPS server for JWKS documents, on
# loopback, with answers a test can switch (tests/helpers/jwks.bash).
#
# Usage: jwks-server.py PORT STATE_DIR
#
# GET /<case>/jwks.json answers from STATE_DIR/<case>/ (and
# /.well-known/jwks.json from STATE_DIR/well-known/):
#   jwks.json   the document served in mode "good"
#   mode        good (default) | invalid | oversized | slow | status500 |
#               redirect-same | redirect-other | reset
#   count       requests for this case so far (written by the server)
# STATE_DIR/cert names the certificate every new connection gets: "good"
# (signed by the test CA) or "wrong" (signed by another CA).
# Stops on SIGTERM.
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
STATE = sys.argv[2]
lock = threading.Lock()


def context(name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(STATE, name + ".crt"),
                        os.path.join(STATE, name + ".key"))
    return ctx


CONTEXTS = {"good": context("server"), "wrong": context("wrong-server")}


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        name = read(os.path.join(STATE, "cert"), "good")
        sock.settimeout(30)
        try:
            return CONTEXTS.get(name, CONTEXTS["good"]).wrap_socket(
                sock, server_side=True), addr
        except (ssl.SSLError, OSError):
            sock.close()
            raise


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("jwks-server: " + (fmt % args) + "\n")

    def answer(self, code, body, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[0] == ".well-known":  # a publishable key's URL
            parts[0] = "well-known"
        if len(parts) < 2 or not parts[0].replace("-", "").replace("_", "").isalnum():
            return self.answer(404, b'{"error":"not found"}')
        case = os.path.join(STATE, parts[0])
        if not os.path.isdir(case):
            return self.answer(404, b'{"error":"no such case"}')
        with lock:
            n = int(read(os.path.join(case, "count"), "0") or 0) + 1
            with open(os.path.join(case, "count.tmp"), "w") as f:
                f.write("%d\n" % n)
            os.rename(os.path.join(case, "count.tmp"),
                      os.path.join(case, "count"))
        mode = read(os.path.join(case, "mode"), "good")
        delay = float(read(os.path.join(case, "delay"), "0") or 0)
        if delay:
            time.sleep(delay)
        if parts[1] == "moved.json" or mode == "good":
            with open(os.path.join(case, "jwks.json"), "rb") as f:
                return self.answer(200, f.read())
        if mode == "invalid":
            return self.answer(200, b'{"keys": [ not json')
        if mode == "oversized":
            return self.answer(200, b'{"keys":[],"pad":"' + b"x" * (300 * 1024) + b'"}')
        if mode == "slow":
            time.sleep(8)
            return self.answer(200, b'{"keys":[]}')
        if mode == "status500":
            return self.answer(500, b'{"error":"down"}')
        if mode == "redirect-same":
            return self.answer(302, b"", extra=[
                ("Location", "https://localhost:%d/%s/moved.json" % (PORT, parts[0]))])
        if mode == "redirect-other":
            return self.answer(302, b"", extra=[
                ("Location", "https://127.0.0.1:%d/%s/moved.json" % (PORT, parts[0]))])
        if mode == "reset":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        return self.answer(500, b'{"error":"unknown mode"}')


def main():
    srv = Server(("127.0.0.1", PORT), Handler)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
        target=srv.shutdown).start())
    with open(os.path.join(STATE, "server.ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    srv.serve_forever()


main()
