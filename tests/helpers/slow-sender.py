#!/usr/bin/env python3
# slow-sender.py PORT LENGTH RATE SECONDS [TOKEN]: a client that sends its
# body slowly. POSTs to 127.0.0.1:PORT/api/chatkit/session declaring
# LENGTH bytes of JSON body, then sends RATE bytes a second (a tenth of
# that every 0.1 s) for at most SECONDS, and stops once the answer's
# status line has come. Prints "status NNN after MS ms" (from the
# connection's start) or "no answer after MS ms".
import socket
import sys
import time


def main():
    port, length, rate, seconds = (int(a) for a in sys.argv[1:5])
    token = sys.argv[5] if len(sys.argv) > 5 else ""
    start = time.monotonic()
    head = (
        "POST /api/chatkit/session HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: %d\r\n" % length
    )
    if token:
        head += "Authorization: Bearer %s\r\n" % token
    head += "Connection: close\r\n\r\n"
    chunk = max(1, rate // 10)
    sent = 0
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head.encode())
        s.settimeout(0.1)
        while time.monotonic() - start < seconds:
            try:
                data = s.recv(4096)
                if not data:
                    break
                got += data
                if b"\r\n" in got:
                    break
            except socket.timeout:
                pass
            except OSError:
                break
            if sent < length:
                n = min(chunk, length - sent)
                try:
                    s.sendall(b"x" * n)
                except OSError:
                    break
                sent += n
    ms = int((time.monotonic() - start) * 1000)
    line = got.split(b"\r\n", 1)[0].split()
    if len(line) >= 2 and b"\r\n" in got:
        print("status %s after %d ms" % (line[1].decode(), ms))
    else:
        print("no answer after %d ms" % ms)


main()
