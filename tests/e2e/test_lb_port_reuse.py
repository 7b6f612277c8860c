"""Clients that reuse their source ports (field report, issue 9): a new
connection on a 5-tuple whose earlier connection closed is scheduled on the
running policy, so a drained endpoint receives none; a UDP flow whose
endpoint is gone moves on without losing a datagram; endpoints count open
connections as active, not flows waiting out their closing timeout."""
import pytest

from testbed import endpoint, lb_policy, lb_rig, service, service_stats

VIP, DNS_VIP = "10.30.0.10", "10.30.0.53"
SERVICES = lb_policy(
    service("web", VIP, [endpoint(f"10.10.2.{i}", weight=2) for i in (11, 12, 13)]),
    service("dns", DNS_VIP, ["10.10.2.11", "10.10.2.12"], ports=[("udp", 53, 5353)], drain_seconds=1))


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpu", SERVICES, udp_ports=(5353,)) as r:
        yield r


def test_drained_endpoint_gets_no_connection_on_reused_ports(rig):
    topo, d = rig
    answers, errors = topo.lb_client("http", VIP, 80, 90, source_port=42000)
    assert errors == [] and set(answers) == {"b1", "b2", "b3"}, answers
    # Every connection has ended (the servers close them): none is active.
    d.wait_for(lambda s: all(e["active_flows"] == 0 for e in service_stats(s, "web")["endpoints"]), 10)
    r = d.meshctl("endpoints", "drain", "web", "10.10.2.13")
    assert r.returncode == 0 and "applied" in r.stdout, r.stderr
    answers, errors = topo.lb_client("http", VIP, 80, 90, source_port=42000)
    assert errors == [] and sum(answers.values()) == 90
    assert "b3" not in answers, f"a drained endpoint got new connections on reused ports: {answers}"
    d.wait_for(lambda s: service_stats(s, "web")["rescheduled"] > 0, 10)


def test_udp_flow_to_an_endpoint_that_is_gone_moves_on_without_loss(rig):
    topo, d = rig
    first, errors = topo.lb_client("udp", DNS_VIP, 53, 30, source_port=43000)
    assert errors == [] and set(first) == {"b1", "b2"}, first
    r = d.meshctl("endpoints", "remove", "dns", "10.10.2.11")
    assert r.returncode == 0, r.stderr
    # After drain_seconds the endpoint is gone; its flows are still in the tables (UDP timeout 30 s).
    d.wait_for(lambda s: [e["state"] for e in service_stats(s, "dns")["endpoints"] if e["address"] == "10.10.2.11"]
               in ([], ["gone"]), 10)
    again, errors = topo.lb_client("udp", DNS_VIP, 53, 30, source_port=43000)
    assert errors == [] and set(again) == {"b2"}, again
    dns = service_stats(d.wait_for(lambda s: service_stats(s, "dns")["rescheduled"] == first["b1"], 10), "dns")
    assert dns["drops"]["endpoint_gone"] == 0, "the first datagram of each moved flow was dropped"
