"""Many real connections from one host to a VIP; prints a JSON summary of
which backend answered each: {"answers": {name: count}, "errors": [...]}.
Usage: lb_client.py http|udp ADDR PORT COUNT [--parallel N]
Every request is its own TCP connection (or UDP socket, so its own port)."""
import argparse
import collections
import concurrent.futures
import http.client
import json
import socket


def http_once(addr, port):
    c = http.client.HTTPConnection(addr, port, timeout=10)
    try:
        c.request("GET", "/", headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read().decode().strip()
        if r.status != 200 or body != r.getheader("X-Backend"):
            raise RuntimeError(f"status {r.status} body {body!r}")
        return body
    finally:
        c.close()


def udp_once(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
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
    a = p.parse_args()
    once = http_once if a.kind == "http" else udp_once
    answers, errors = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(a.parallel) as pool:
        for f in [pool.submit(once, a.addr, a.port) for _ in range(a.count)]:
            try:
                answers[f.result()] += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported, none hidden
                errors.append(repr(e))
    print(json.dumps({"answers": answers, "errors": errors}))


if __name__ == "__main__":
    main()
