"""Packet trace with real connections: `meshctl trace` follows a curl's SYN
through the stages (the service, the NAT rewrite, the route, the port it
leaves by) and shows where a denied packet was dropped and why."""
import json
import subprocess

import pytest

from testbed import lb_policy, lb_rig, service
from testbed.paths import MESHCTL

WEB = "10.30.0.10"
POLICY = lb_policy(service("web", WEB, ["10.10.2.11"])) + """access:
  rules:
    - {name: no-telnet, action: deny, protocol: tcp, destination_ports: [23]}
"""


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpn", POLICY) as r:
        yield r


def traced(d, topo, args, client_cmd):
    """Starts `meshctl trace ARGS -o json`, waits until it is armed, runs the client; the packets it printed."""
    before = d.log_text().count("tracing the next")
    proc = subprocess.Popen([MESHCTL, "--socket", d.socket, "-o", "json", "trace", "--timeout", "20"] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        d.wait_for(lambda _: d.log_text().count("tracing the next") > before, timeout=10)
        topo.ns(topo.client, client_cmd, check=False)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_a_traced_connection_shows_its_service_rewrite_and_way_out(rig):
    topo, d = rig
    warm = topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", f"http://{WEB}/"], check=False)
    assert warm.returncode == 0, "the endpoint's MAC is known now: the traced packet is not held for ARP"
    packets = traced(d, topo, ["--count", "1", "--to", WEB, "--port", "80"],
                     ["curl", "-sS", "--max-time", "5", f"http://{WEB}/"])
    assert len(packets) == 1
    steps, verdict = packets[0]["steps"], packets[0]["verdict"]
    text = "\n".join(steps)
    assert steps[0].startswith("received on port client: tcp 10.10.1.2:") and f"-> {WEB}:80" in steps[0], text
    assert "lb: service 'web'" in text
    assert "[now tcp 10.10.2.1:" in text and "-> 10.10.2.11:8080" in text, "the NAT rewrite shows"
    assert "out on port server" in text and verdict == "sent on port server", text


def test_a_dropped_packet_shows_where_and_why(rig):
    topo, d = rig
    packets = traced(d, topo, ["--count", "1", "--to", "10.10.2.11", "--port", "23"],
                     ["curl", "-sS", "--connect-timeout", "1", "telnet://10.10.2.11:23"])
    assert len(packets) == 1
    text = "\n".join(packets[0]["steps"])
    assert "access: rule 'no-telnet'" in text and ": deny" in text, text
    assert packets[0]["verdict"] == "dropped: access_denied"
    assert "route" not in text


def test_a_trace_ends_at_its_timeout_and_one_runs_at_a_time(rig):
    topo, d = rig
    before = d.log_text().count("tracing the next")
    proc = subprocess.Popen([MESHCTL, "--socket", d.socket, "trace", "--count", "1", "--to", "10.99.0.1",
                             "--timeout", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    d.wait_for(lambda _: d.log_text().count("tracing the next") > before, timeout=10)
    second = d.meshctl("trace", "--count", "1", "--timeout", "1", check=False)
    assert second.returncode == 1 and "a trace is already running" in second.stderr
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "0 of 1 packet(s) traced before the timeout" in out
