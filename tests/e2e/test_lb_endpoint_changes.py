"""Endpoint changes through policy reloads while real transfers run: a long
download survives another endpoint being removed and one being added, and
then its own endpoint being removed (it drains); a drain that times out ends
the flows still on it."""
import signal

import pytest

from testbed import SlowDownload, lb_policy, lb_rig, service

VIP = "10.30.0.10"


def services(endpoints, drain_seconds=60):
    """`endpoints`: backend names, b1 being 10.10.2.11."""
    eps = [f"10.10.2.{11 + int(b[1]) - 1}" for b in endpoints]
    return lb_policy(service("web", VIP, eps, drain_seconds=drain_seconds))


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpr", services(["b1", "b2"])) as r:
        yield r


def apply(topo, d, text):
    gen = d.stats()["generation"]
    d.write_policy(topo.policy(text))
    d.signal(signal.SIGHUP)
    d.wait_for(lambda s: s["generation"] == gen + 1, 10)


def endpoint_state(stats, address):
    web = next(s for s in stats["services"] if s["name"] == "web")
    return next((e["state"] for e in web["endpoints"] if e["address"] == address), None)


def test_long_transfer_survives_endpoint_changes(rig):
    topo, d = rig
    dl = SlowDownload(topo, VIP)
    serving = dl.backend()
    other = "b2" if serving == "b1" else "b1"
    dl.wait_bytes(500_000)
    apply(topo, d, services([serving, "b3"]))  # one endpoint removed, one added
    dl.wait_bytes(1_000_000)
    apply(topo, d, services(["b3"]))  # the transfer's own endpoint removed: it drains
    address = f"10.10.2.{10 + int(serving[1])}"
    assert endpoint_state(d.stats(), address) == "draining"
    assert dl.proc.poll() is None, "the transfer should still be running"
    answers, errors = topo.lb_client("http", VIP, 80, 30)
    assert errors == [] and answers == {"b3": 30}, "new connections go to the one endpoint left"
    rc, digest, err = dl.finish()
    assert rc == 0, err
    assert digest == dl.expected_digest(), "every byte arrived, in order"
    s = d.stats()
    assert s["drops"]["endpoint_gone"] == 0 and s["drops"]["no_flow_state"] == 0
    assert endpoint_state(s, f"10.10.2.{10 + int(other[1])}") == "draining"


def test_drain_timeout_ends_remaining_flows(rig):
    topo, d = rig
    apply(topo, d, services(["b1", "b2"], drain_seconds=1))
    dl = SlowDownload(topo, VIP, max_time=8)
    serving = dl.backend()
    remaining = "b2" if serving == "b1" else "b1"
    apply(topo, d, services([remaining], drain_seconds=1))
    d.wait_log(f"drained web/10.10.2.{10 + int(serving[1])}", 5)
    rc, _, _ = dl.finish()
    assert rc != 0, "the transfer cannot finish once its endpoint is gone"
    s = d.wait_for(lambda s: s["drops"]["endpoint_gone"] > 0)
    assert endpoint_state(s, f"10.10.2.{10 + int(serving[1])}") == "gone"
    answers, errors = topo.lb_client("http", VIP, 80, 20)
    assert errors == [] and answers == {remaining: 20}
