"""Many real connections from one host to a VIP; prints a JSON summary of
which backend answered each: {"answers": {name: count}, "errors": [...]}.
Usage: lb_client.py http|udp ADDR PORT COUNT [--parallel N] [--source-port FIRST]
Every request is its own TCP connection (or UDP socket, so its own port);
with --source-port, request i binds source port FIRST + i, so a second run
reuses the 5-tuples of the first (as busy clients do)."""
import argparse
import collections
import concurrent.futures
import http.client
import json
import socket


class BoundConnection(http.client.HTTPConnection):
    """An HTTP connection from a fixed source port (SO_REUSEADDR, as clients that reuse ports set it)."""

    def __init__(self, addr, port, source_port):
        super().__init__(addr, port, timeout=10)
        self.source_port = source_port

    def connect(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.settimeout(self.timeout)
        self.sock.bind(("0.0.0.0", self.source_port))
        self.sock.connect((self.host, self.port))


def http_once(addr, port, source_port=None):
    c = BoundConnection(addr, port, source_port) if source_port else http.client.HTTPConnection(addr, port, timeout=10)
    try:
        c.request("GET", "/", headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read().decode().strip()
        if r.status != 200 or body != r.getheader("X-Backend"):
            raise RuntimeError(f"status {r.status} body {body!r}")
        return body
    finally:
        c.close()


def udp_once(addr, port, source_port=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    if source_port:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", source_port))
    try:
        for _ in range(3):  # the first datagram can wait on ARP at the gateway
            s.sendto(b"who", (addr, port))
            try:
                return s.recv(2048).decode()
            except socket.timeout:
                continue
        raise RuntimeError("no answer")
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["http", "udp"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("count", type=int)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--source-port", type=int, default=0)
    a = p.parse_args()
    once = http_once if a.kind == "http" else udp_once
    answers, errors = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(a.parallel) as pool:
        ports = [a.source_port + i if a.source_port else None for i in range(a.count)]
        for f in [pool.submit(once, a.addr, a.port, sp) for sp in ports]:
            try:
                answers[f.result()] += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported, none hidden
                errors.append(repr(e))
    print(json.dumps({"answers": answers, "errors": errors}))


if __name__ == "__main__":
    main()
