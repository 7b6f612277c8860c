"""Rate limits with real traffic: a client floods a UDP service at ten times
its packet limit; the backends answer only what the gateway let through,
which is never more than the limit allows over the time the flood took
(rate x time + the burst, with 10% for the clock), and not a trickle
either; every datagram held back is counted as rate_limited. A connection
limit per source stops one client's connections over it with a RST
(action: reject) while another client's go through. (How close the
admitted rate comes to the configured one on this machine is measured in
docs/benchmarks.md, not asserted here: it depends on the sender keeping up.)"""
import json

import pytest

from testbed import lb_policy, lb_rig, service
from testbed.paths import UDP_FLOOD

DNS, WEB = "10.30.0.53", "10.30.0.10"
LIMIT = 200
SERVICES = lb_policy(
    service("dns", DNS, ["10.10.2.11", "10.10.2.12"], ports=[("udp", 53, 5353)],
            rate_limit={"packets_per_second": LIMIT}),
    service("web", WEB, ["10.10.2.11"], rate_limit={"per_source": {"prefix_length": 32, "connections_per_second": 1},
                                                    "action": "reject"}))


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpr", SERVICES, udp_ports=(5353,)) as r:
        topo, _ = r
        topo.ns(topo.client, ["ip", "addr", "add", "10.10.1.201/24", "dev", topo.client_if])
        yield r


def service_of(stats, name):
    return next(s for s in stats["services"] if s["name"] == name)


def test_a_flood_gets_the_packet_limit_and_no_more(rig):
    topo, d = rig
    r = topo.ns(topo.client, ["/usr/bin/python3", UDP_FLOOD, DNS, "53", str(LIMIT * 10), "3", "4"], timeout=60)
    flood = json.loads(r.stdout)
    admitted, seconds = flood["received"], flood["seconds"]
    assert admitted <= LIMIT * seconds * 1.1 + LIMIT / 10, flood
    assert admitted >= LIMIT * seconds / 2, flood
    held = d.wait_for(lambda s: service_of(s, "dns")["drops"]["rate_limited"] > 0)
    limited = service_of(held, "dns")["drops"]["rate_limited"]
    lost = flood["sent"] - admitted
    assert 0.9 * lost <= limited <= lost, (flood, limited)


def test_a_per_source_connection_limit_rejects_one_client_only(rig):
    topo, _ = rig
    answers, errors = topo.lb_client("http", WEB, 80, 3, parallel=3)
    assert sum(answers.values()) >= 1 and len(errors) >= 1, (answers, errors)
    assert all("ConnectionRefusedError" in e or "ConnectionResetError" in e for e in errors), errors
    r = topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", "--interface", "10.10.1.201", f"http://{WEB}/"],
                check=False)
    assert r.returncode == 0 and r.stdout.strip() == "b1", "another source has its own allowance"
