"""Circuit breaking under wrk with real backends: a service capped at 6 open
connections, each endpoint at 4. wrk opens 16 connections for slow
downloads (2 s each); the client never holds more than 6 established
connections to the VIP, no backend more than 4 (counted by each host's own
kernel, sampled while wrk runs); what Maglev would send to a full endpoint
may go to the other one, the rest is refused with a RST (wrk's socket
errors, the gateway's circuit_open), and get endpoints shows the breaker's
count. With overflow: refuse an endpoint's surplus is refused
even while the other endpoint has room."""
import pytest

from testbed import lb_policy, lb_rig, service, service_stats
from testbed.wrk import Wrk, established

WEB = "10.30.0.10"
SLOW = f"http://{WEB}/stream?bytes=1000000&rate=500000"


def breaker_services(**breaker):
    """The load_balancer and services sections: web on both backends with this circuit breaker."""
    return lb_policy(service("web", WEB, ["10.10.2.11", "10.10.2.12"], circuit_breaker=breaker))


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpb", breaker_services(max_connections=6, per_endpoint={"max_connections": 4}), backends=2) as r:
        yield r


def load(topo, connections=16, seconds=5):
    """Runs wrk against the slow download; the most established connections
    seen at the client and at each backend, and wrk's summary."""
    w = Wrk(topo, SLOW, connections, seconds)
    client, backends = 0, [0] * len(topo.backends)
    while w.running():
        client = max(client, established(topo, topo.client, 80))
        for i, ns in enumerate(topo.backends):
            backends[i] = max(backends[i], established(topo, ns, 8080, local=True))
    return client, backends, w.finish()


def test_the_limits_hold_under_wrk(rig, tmp_path):
    topo, d = rig
    client, backends, result = load(topo)
    print(f"\nmost established: client {client}, backends {backends}; wrk {result['requests']} requests, "
          f"errors {result['errors']}")
    assert client <= 6, f"the service's cap: {client} connections established at once"
    assert max(backends) <= 4, f"an endpoint's cap: {backends}"
    assert result["requests"] > 0
    assert sum(result["errors"].values()) > 0, "connections over the caps are refused: " + result["text"]
    s = service_stats(d.stats(), "web")
    assert s["drops"]["circuit_open"] > 0, "16 connections against a cap of 6"
    # Whether Maglev ever picks a full endpoint while the service has room depends on the
    # connections' hashes: overflow itself is unit-tested (tests/unit/dataplane/stages/circuit_breakers_test.cc).
    assert s["breaker"]["max_connections"] == 6
    table = d.meshctl("get", "endpoints", "web", check=True).stdout
    assert "BREAKER" in table and "/4" in table, table
    # The counts return to zero when the connections are gone.
    d.wait_for(lambda st: service_stats(st, "web")["breaker"].get("active", 0) == 0, timeout=30)


def test_overflow_refuse_keeps_an_endpoints_surplus_away_from_the_other(rig, tmp_path):
    topo, d = rig
    refuse = tmp_path / "refuse.yaml"
    refuse.write_text(topo.policy(breaker_services(per_endpoint={"max_connections": 2}, overflow="refuse")))
    d.meshctl("apply", "-f", str(refuse), check=True)
    before = service_stats(d.stats(), "web")["breaker_overflowed"]
    client, backends, result = load(topo, connections=12, seconds=4)
    assert max(backends) <= 2 and client <= 4, (client, backends)
    assert sum(result["errors"].values()) > 0
    assert service_stats(d.stats(), "web")["breaker_overflowed"] == before, "nothing sent elsewhere"
