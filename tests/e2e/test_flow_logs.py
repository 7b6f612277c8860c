"""Flow logs with real connections: a curl through the VIP is logged when it
starts and when it ends, as JSON lines (read back with Python's json) whose
5-tuples, NAT address, endpoint, service, counts and end reason match what
curl and the backends saw; the same lines reach a collector listening on a
unix socket."""
import json
import os
import socket
import tempfile
import threading
import time

from testbed import lb_policy, lb_rig, service

WEB = "10.30.0.10"
BACKENDS = ["10.10.2.11", "10.10.2.12"]


def policy(flow_logs):
    return lb_policy(service("web", WEB, BACKENDS), timeouts={"tcp_closing": 1}) + f"flow_logs: {flow_logs}\n"


def curl_local_port(topo):
    r = topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{local_port}",
                              f"http://{WEB}/"])
    return int(r.stdout)


def wait_for_lines(read, want, timeout=15):
    deadline = time.time() + timeout
    while True:
        lines = [json.loads(line) for line in read().splitlines() if line.strip()]
        if want(lines):
            return lines
        assert time.time() < deadline, lines
        time.sleep(0.1)


def check_connection(lines, port):
    mine = [r for r in lines if r["client"] == f"10.10.1.2:{port}"]
    assert [r["event"] for r in mine] == ["start", "end"], mine
    start, end = mine
    for r in mine:
        assert r["protocol"] == "tcp" and r["destination"] == f"{WEB}:80" and r["service"] == "web"
        assert r["nat_source"].startswith("10.10.2.1:") and r["endpoint"] in [f"{b}:8080" for b in BACKENDS]
    assert end["reason"] == "closed" and end["packets"] >= 8 and end["bytes"] > 500
    assert 0 <= end["duration_seconds"] < 10
    assert start["time"] <= end["time"]


def test_a_curl_is_logged_to_a_file_when_it_starts_and_ends():
    path = os.path.join(tempfile.mkdtemp(prefix="mp-flows-"), "flows.jsonl")
    with lb_rig("mpf", policy(f"{{path: {path}}}")) as (topo, d):
        assert oct(os.stat(path).st_mode & 0o777) == "0o640"
        port = curl_local_port(topo)
        lines = wait_for_lines(lambda: open(path).read(),
                               lambda ls: any(r["event"] == "end" and r["client"].endswith(f":{port}") for r in ls))
        check_connection(lines, port)
        d.wait_for(lambda s: s["flow_logged"] >= 2 and s["flow_log_lost"] == 0)


def test_a_collector_on_a_unix_socket_gets_the_same_lines():
    path = os.path.join(tempfile.mkdtemp(prefix="mp-flows-"), "collector.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    received = []

    def collect():
        conn, _ = server.accept()
        while chunk := conn.recv(65536):
            received.append(chunk)

    threading.Thread(target=collect, daemon=True).start()
    try:
        with lb_rig("mpg", policy(f"{{socket: {path}}}")) as (topo, _):
            port = curl_local_port(topo)
            lines = wait_for_lines(lambda: b"".join(received).decode(),
                                   lambda ls: any(r["event"] == "end" and r["client"].endswith(f":{port}") for r in ls))
            check_connection(lines, port)
    finally:
        server.close()
