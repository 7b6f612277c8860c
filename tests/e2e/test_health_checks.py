"""Endpoint health with real backends. Active checks: HTTP checks run from
the exception path's namespace through the gateway's TAPs; a backend whose
server stops is marked unhealthy within the checks' interval x threshold
and gets no new connection, a restarted one comes back, a reload keeps the
health it found, and a service whose endpoints are mostly unhealthy
balances over all of them (panic threshold). Outlier detection: an endpoint
whose kernel resets every SYN is ejected by the workers' counts alone. The
detection times are printed (docs/benchmarks.md reports them); nothing
here asserts a speed."""
import contextlib
import time

import pytest

from testbed import Daemon, Topology, lb_policy, service, sh
from testbed.paths import NAMED_SERVER

NETNS = "mpj-host"
WEB = "10.30.0.10"
CHECK = {"type": "http", "path": "/", "interval_ms": 300, "timeout_ms": 200, "healthy_threshold": 2,
         "unhealthy_threshold": 2}


def policy(topo, extra=""):
    web = service("web", WEB, topo.backend_ips, health_check=CHECK, panic_threshold=50)
    return topo.policy(lb_policy(web, nat_port_max=60999) + f"exception_path: {{netns: {NETNS}}}\n" + extra)


def start_server(topo, i):
    return topo.helper(i, NAMED_SERVER, f"b{i + 1}", "--http=0.0.0.0:8080")


@contextlib.contextmanager
def backends_behind(prefix, serving, make_policy):
    """Three backends, a named server on those in `serving`, behind a meshplane
    with make_policy(topology); yields (topology, daemon, servers by backend)."""
    sh(["ip", "netns", "del", NETNS], check=False)
    topo = Topology(prefix=prefix, backends=3).up()
    servers = {i: start_server(topo, i) for i in serving}
    d = None
    try:
        d = Daemon(make_policy(topo), name=prefix).start()
        yield topo, d, servers
    finally:
        if d:
            assert d.stop() == 0
        for p in servers.values():
            p.kill()
            p.wait()
        topo.down()
        sh(["ip", "netns", "del", NETNS], check=False)


@pytest.fixture(scope="module")
def rig():
    with backends_behind("mpj", range(3), policy) as r:
        yield r


def health(stats):
    svc = next(s for s in stats["services"] if s["name"] == "web")
    return {e["address"]: e.get("health", "") for e in svc["endpoints"]}


def test_a_stopped_server_is_ejected_and_comes_back(rig):
    topo, d, servers = rig
    d.wait_for(lambda s: set(health(s).values()) == {"healthy"})
    servers[0].kill()
    servers[0].wait()
    stopped = time.monotonic()
    d.wait_for(lambda s: health(s)["10.10.2.11"] == "unhealthy", timeout=10)
    print(f"\nunhealthy {time.monotonic() - stopped:.2f} s after the server stopped")
    answers, errors = topo.lb_client("http", WEB, 80, 60)
    assert not errors and "b1" not in answers and sum(answers.values()) == 60, (answers, errors)
    assert any(e["kind"] == "endpoint_unhealthy" and "10.10.2.11" in e["message"] for e in d.events())
    table = d.meshctl("get", "endpoints", "web", check=True).stdout
    assert "unhealthy" in table, table

    servers[0] = start_server(topo, 0)
    started = time.monotonic()
    d.wait_for(lambda s: health(s)["10.10.2.11"] == "healthy", timeout=10)
    print(f"healthy {time.monotonic() - started:.2f} s after the server started")
    answers, errors = topo.lb_client("http", WEB, 80, 90)
    assert not errors and answers.get("b1", 0) > 0, (answers, errors)


def test_health_survives_a_reload(rig, tmp_path):
    topo, d, servers = rig
    servers[1].kill()
    servers[1].wait()
    d.wait_for(lambda s: health(s)["10.10.2.12"] == "unhealthy", timeout=10)
    changed = tmp_path / "changed.yaml"
    changed.write_text(policy(topo, "access:\n  rules:\n    - {name: no-telnet, action: reject, protocol: tcp, "
                                    "destination_ports: 23}\n"))
    d.meshctl("apply", "-f", str(changed), check=True)
    assert health(d.stats())["10.10.2.12"] == "unhealthy", "kept across the reload"
    answers, errors = topo.lb_client("http", WEB, 80, 40)
    assert not errors and "b2" not in answers, (answers, errors)
    servers[1] = start_server(topo, 1)
    d.wait_for(lambda s: health(s)["10.10.2.12"] == "healthy", timeout=10)


def test_too_few_healthy_endpoints_balance_over_all(rig):
    topo, d, servers = rig
    for i in (0, 1):
        servers[i].kill()
        servers[i].wait()
    d.wait_for(lambda s: list(health(s).values()).count("unhealthy") == 2, timeout=10)
    # 1 of 3 healthy is below the panic threshold (50%): every endpoint is balanced over again.
    answers, errors = topo.lb_client("http", WEB, 80, 60)
    assert answers.get("b3", 0) > 0 and len(errors) > 0, (answers, errors)
    for i in (0, 1):
        servers[i] = start_server(topo, i)
    d.wait_for(lambda s: set(health(s).values()) == {"healthy"}, timeout=10)


@pytest.fixture(scope="module")
def outlier_rig():
    """b1 with nothing listening (its kernel resets every SYN); no health checks."""
    def make_policy(topo):
        web = service("web", WEB, topo.backend_ips, outlier_detection={"consecutive_failures": 3,
                                                                       "base_ejection_ms": 60000,
                                                                       "max_ejection_percent": 50})
        return topo.policy(lb_policy(web))
    with backends_behind("mpo2", (1, 2), make_policy) as (topo, d, _):
        yield topo, d


def test_an_endpoint_that_resets_every_connection_is_ejected_without_checks(outlier_rig):
    topo, d = outlier_rig
    answers, errors = topo.lb_client("http", WEB, 80, 30, parallel=1)
    assert errors and answers, "b1 refuses (its RSTs reach the client), the others answer"
    d.wait_for(lambda s: health(s)["10.10.2.11"] == "ejected", timeout=10)
    assert health(d.stats())["10.10.2.12"] == "healthy"
    answers, errors = topo.lb_client("http", WEB, 80, 60)
    assert not errors and "b1" not in answers and sum(answers.values()) == 60, (answers, errors)
    assert any(e["kind"] == "endpoint_ejected" and "failed in a row" in e["message"] for e in d.events())
