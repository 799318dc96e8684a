#!/usr/bin/env python3
"""fcgi-client.py: one FastCGI request, as a web server sends it.

    fcgi-client.py [--role responder|authorizer] [--no-stdin]
                   [--stdin FILE] [--env] [--timeout SECONDS]
                   [--hold SECONDS] ADDRESS [NAME=VALUE ...]

ADDRESS is a Unix socket path, or HOST:PORT for TCP. The request is
FCGI_BEGIN_REQUEST with the role (no FCGI_KEEP_CONN: the connection
closes after it, as Apache's mod_authnz_fcgi and lighttpd do), the
NAME=VALUE arguments as FCGI_PARAMS (with --env, the environment first
and the arguments over it), then FCGI_STDIN: FILE's bytes ("-": this
program's stdin), or nothing; --no-stdin sends no FCGI_STDIN record at
all, as Apache sends an authorizer. The application's FCGI_STDOUT goes
to stdout, its FCGI_STDERR to stderr, as they come. --hold: after
FCGI_END_REQUEST, keep this end of the connection open that long before
closing it, as a slow server would.

Exit status: 0 after FCGI_END_REQUEST, 1 when the connection failed or
closed before it, 2 for a bad argument, 124 when no FCGI_END_REQUEST
came within the timeout (default 30 s, for the whole request).
"""
import os
import socket
import struct
import sys
import time

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
ROLES = {"responder": 1, "authorizer": 2, "filter": 3}
REQUEST_ID = 1
CHUNK = 65535  # bytes of content in one record


def record(rtype, content=b""):
    pad = -len(content) % 8
    return (struct.pack(">BBHHBx", VERSION, rtype, REQUEST_ID,
                        len(content), pad) + content + b"\0" * pad)


def stream(rtype, data):
    """data as records of rtype, then the empty one that ends it."""
    out = [record(rtype, data[i:i + CHUNK])
           for i in range(0, len(data), CHUNK)]
    return b"".join(out) + record(rtype)


def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pairs(params):
    return b"".join(length(len(k)) + length(len(v)) + k + v
                    for k, v in params)


def usage(msg):
    sys.stderr.write("fcgi-client.py: %s\n" % msg)
    sys.exit(2)


def parse_args(argv):
    opts = {"role": "responder", "stdin": None, "no_stdin": False,
            "env": False, "timeout": 30.0, "hold": 0.0}
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--role", "--stdin", "--timeout", "--hold"):
            if i + 1 >= len(argv):
                usage("%s needs a value" % a)
            opts[a[2:]] = argv[i + 1]
            i += 2
            continue
        if a == "--no-stdin":
            opts["no_stdin"] = True
        elif a == "--env":
            opts["env"] = True
        elif a.startswith("--"):
            usage("unknown option %s" % a)
        else:
            rest.append(a)
        i += 1
    if opts["role"] not in ROLES:
        usage("role must be one of %s" % ", ".join(sorted(ROLES)))
    try:
        opts["timeout"] = float(opts["timeout"])
        opts["hold"] = float(opts["hold"])
    except ValueError:
        usage("--timeout and --hold need seconds")
    if not rest:
        usage("no address")
    return opts, rest[0], rest[1:]


def connect(address, deadline):
    if "/" in address or ":" not in address:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = address
    else:
        host, _, port = address.rpartition(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    s.settimeout(max(0.01, deadline - time.monotonic()))
    s.connect(target)
    return s


def main():
    opts, address, assignments = parse_args(sys.argv[1:])
    params = {}
    if opts["env"]:
        params.update(os.environb)
    for a in assignments:
        if "=" not in a:
            usage("not NAME=VALUE: %s" % a)
        k, v = a.split("=", 1)
        params[k.encode()] = v.encode()
    body = b""
    if opts["stdin"] == "-":
        body = sys.stdin.buffer.read()
    elif opts["stdin"] is not None:
        with open(opts["stdin"], "rb") as f:
            body = f.read()

    deadline = time.monotonic() + opts["timeout"]
    try:
        s = connect(address, deadline)
    except OSError as e:
        sys.stderr.write("fcgi-client.py: connect %s: %s\n" % (address, e))
        return 1
    req = record(BEGIN_REQUEST,
                 struct.pack(">HB5x", ROLES[opts["role"]], 0))
    req += stream(PARAMS, pairs(sorted(params.items())))
    if not opts["no_stdin"]:
        req += stream(STDIN, body)
    buf = b""
    try:
        s.sendall(req)
        while True:
            while len(buf) >= 8:
                _, rtype, _, clen, pad = struct.unpack(">BBHHBx", buf[:8])
                if len(buf) < 8 + clen + pad:
                    break
                content = buf[8:8 + clen]
                buf = buf[8 + clen + pad:]
                if rtype == STDOUT:
                    sys.stdout.buffer.write(content)
                    sys.stdout.buffer.flush()
                elif rtype == STDERR:
                    sys.stderr.buffer.write(content)
                    sys.stderr.buffer.flush()
                elif rtype == END_REQUEST:
                    time.sleep(opts["hold"])
                    return 0
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            s.settimeout(left)
            data = s.recv(65536)
            if not data:
                sys.stderr.write("fcgi-client.py: connection closed "
                                 "before FCGI_END_REQUEST\n")
                return 1
            buf += data
    except socket.timeout:
        sys.stderr.write("fcgi-client.py: no FCGI_END_REQUEST within "
                         "%g s\n" % opts["timeout"])
        return 124
    except OSError as e:
        sys.stderr.write("fcgi-client.py: %s\n" % e)
        return 1
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
