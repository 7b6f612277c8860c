"""Authorization of routed connections, with real TCP and UDP: the backends'
subnet, reached through the gateway without a VIP, admits the identity
mapped to part of the client subnet on its ports only; another client
address is refused silently; a connection a backend opens towards a client
works whoever the client is; a change cuts (or, with on_change: keep,
leaves) a running download; with two workers, both directions of every
connection meet at the worker that keeps its flow."""
import json
import re
import subprocess

import pytest

from testbed import EAL_ARGS, lb_rig
from testbed.topology import SlowDownload
from testbed.tunnel import TwoSites, running

BACKEND = "10.10.2.11"
GUEST = "10.10.1.200"
TWO_WORKERS = ["--lcores", "0@0,1@1,2@1"] + EAL_ARGS[2:]


def authorization(office="10.10.1.0/25", on_change="cut"):
    return f"""load_balancer: {{flow_capacity: 65536}}
identities:
  - {{name: office, prefixes: [{office}]}}
authorization:
  - name: backends
    destinations: [10.10.2.0/24]
    default: deny
    on_change: {on_change}
    rules:
      - {{name: office-apps, action: allow, from: {{identities: [office]}}, to: {{ports: [8080, 5353]}}}}
      - {{name: watch-guests, action: audit, from: {{prefixes: [10.10.1.128/25]}}}}
"""


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpq", authorization(), udp_ports=(5353,)) as r:
        topo, _ = r
        topo.ns(topo.client, ["ip", "addr", "add", f"{GUEST}/24", "dev", topo.client_if])
        yield r


def curl(topo, url, source=None, ns=None, timeout="3"):
    cmd = ["curl", "-sS", "--connect-timeout", timeout, "--max-time", "10"]
    if source:
        cmd += ["--interface", source]
    return topo.ns(ns or topo.client, cmd + [url], check=False)


def test_a_destination_admits_only_what_its_rules_allow(rig):
    topo, d = rig
    r = curl(topo, f"http://{BACKEND}:8080/")
    assert r.returncode == 0 and r.stdout.strip() == "b1", r.stderr
    answers, errors = topo.lb_client("udp", BACKEND, 5353, 10, parallel=2)
    assert errors == [] and sum(answers.values()) == 10
    r = curl(topo, f"http://{BACKEND}:8080/", source=GUEST, timeout="1")
    assert r.returncode == 28, "denied: the SYN is dropped, the client hears nothing"
    ping = topo.ns(topo.client, ["ping", "-c", "1", "-W", "1", BACKEND], check=False)
    assert ping.returncode != 0, "office's rule names ports: ICMP is not among them"
    s = d.wait_for(lambda s: s["drops"]["authz_denied"] >= 2 and s["routed_authz_audited"] >= 1)
    assert s["routed_flows"] >= 11
    d.wait_log("authorization: destination 'backends': audit rule 'watch-guests'", 10)
    out = d.meshctl("explain", "--from", GUEST, "--to", BACKEND, "--port", "8080", check=True).stdout
    assert "authorization of destination 'backends'" in out and "verdict: denied" in out, out
    table = d.meshctl("get", "policies", check=True).stdout
    assert "authorization of destination backends (10.10.2.0/24): default deny" in table, table
    assert "allow 'office-apps'" in table
    policies = json.loads(d.meshctl("-o", "json", "get", "policies", check=True).stdout)
    backends = next(a for a in policies["authorizations"] if a.get("name") == "backends")
    assert backends["destinations"] == ["10.10.2.0/24"]


def test_what_a_backend_opens_works_whoever_the_client_is(rig):
    topo, _ = rig
    server = subprocess.Popen(["ip", "netns", "exec", topo.client, "/usr/bin/python3", "-m", "http.server", "8000",
                               "--bind", GUEST], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):  # until the server listens
            r = curl(topo, f"http://{GUEST}:8000/", ns=topo.backends[0])
            if r.returncode != 7:
                break
        assert r.returncode == 0 and "Directory listing" in r.stdout, r.stderr
    finally:
        server.kill()
        server.wait()
    assert curl(topo, f"http://{BACKEND}:8080/", source=GUEST, timeout="1").returncode == 28, "still not the reverse"


def apply(topo, d, text):
    d.write_policy(topo.policy(text))
    d.meshctl("apply", "-f", d.config, check=True)


def test_a_change_cuts_the_connections_it_denies_or_keeps_them(rig):
    topo, d = rig
    cut = SlowDownload(topo, f"{BACKEND}:8080", size=4_000_000, rate=400_000, max_time=20)
    cut.wait_bytes(100_000)
    before = d.stats()["routed_authz_cut"]
    apply(topo, d, authorization(office="10.10.1.128/25"))  # the client is no longer 'office'
    rc, _, _ = cut.finish()
    assert rc != 0, "the download was cut"
    # The download, and any UDP flow of the first test still open: the change says how many, the counter agrees.
    d.wait_log("authorization change checked against every connection: ", 10)
    said = int(re.findall(r"checked against every connection: (\d+) cut", d.log_text())[-1])
    assert said >= 1
    d.wait_for(lambda s: s["routed_authz_cut"] == before + said)

    apply(topo, d, authorization(on_change="keep"))
    keep = SlowDownload(topo, f"{BACKEND}:8080", size=2_000_000, rate=1_000_000)
    keep.wait_bytes(100_000)
    apply(topo, d, authorization(office="10.10.1.128/25", on_change="keep"))
    rc, digest, err = keep.finish()
    assert rc == 0 and digest == keep.expected_digest(), err
    assert curl(topo, f"http://{BACKEND}:8080/", timeout="1").returncode == 28, "a new connection meets the new rules"
    assert d.stats()["routed_authz_cut"] == before + said
    apply(topo, d, authorization())


def test_two_workers_meet_both_directions_of_each_connection():
    with lb_rig("mpo", authorization(), qpairs=2, eal_args=TWO_WORKERS) as (topo, d):
        answers, errors = topo.lb_client("http", BACKEND, 8080, 40, parallel=4)
        assert errors == [] and answers == {"b1": 40}
        s = d.wait_for(lambda s: s["routed_flows"] >= 40)
        assert len(s["workers"]) == 2
        assert s["handed_off"] > 0, "some packets arrived at the worker that does not keep their connection"
        assert s["drops"]["authz_denied"] == 0


def test_a_peer_identity_admits_routed_connections_over_its_sas():
    gw_a = "spiffe://mesh.example/gateway/gw-a"
    site_b_hosts = f"""authorization:
  - name: site-b-hosts
    destinations: [10.2.0.0/24]
    default: deny
    rules:
      - {{name: from-a, action: allow, from: {{identities: [{gw_a}]}}, to: {{ports: [8080], protocols: [tcp]}}}}
"""
    t = TwoSites(prefix="mpx", peer_a_identity=gw_a, extra_b=site_b_hosts)
    with running(t) as (_, b):
        r = t.ns(t.site_a, ["curl", "-sS", "--max-time", "10", "--retry", "3", "--retry-connrefused",
                            f"http://{t.host_b}:8080/"], check=False)
        assert r.returncode == 0 and r.stdout.strip() == "site-b", r.stderr
        out = b.meshctl("explain", "--from", t.host_a, "--to", t.host_b, "--port", "8080", check=True).stdout
        assert f"over peer 'site-a' ({gw_a})" in out and "rule 'from-a'" in out and "verdict: forwarded" in out, out
        r = t.ns(t.site_a, ["ping", "-c", "1", "-W", "1", t.host_b], check=False)
        assert r.returncode != 0, "the rule is for tcp 8080: an echo request is refused"
        r = t.ns(t.site_b, ["curl", "-sS", "--max-time", "10", f"http://{t.host_a}:8080/"], check=False)
        assert r.returncode == 0 and r.stdout.strip() == "site-a", "site B's own connections are not asked"
        b.wait_for(lambda s: s["drops"]["authz_denied"] >= 1 and s["routed_flows"] >= 2)
