"""Authorization with real connections. One gateway: a service whose
authorization allows the identity mapped to part of the client subnet; a
client address outside it is denied (silently: the connection never
starts); a change of authorization under a running download cuts it, and
the gateway says how many connections the change cut. Two gateways: a
service behind gateway B admits what arrives over gateway A's SAs, by A's
identity, and refuses it once the identity is no longer named."""
import json

import pytest

from testbed import lb_policy, lb_rig, service
from testbed.topology import SlowDownload
from testbed.tunnel import TwoSites, running

WEB = "10.30.0.10"
OTHER_CLIENT = "10.10.1.200"
SERVICES = lb_policy(service("web", WEB, ["10.10.2.11", "10.10.2.12"]))


def authorization(office="10.10.1.0/25", default="deny"):
    return f"""identities:
  - {{name: spiffe://mesh.example/ns/office/sa/browser, prefixes: [{office}]}}
authorization:
  - service: web
    default: {default}
    rules:
      - {{name: office, action: allow, from: {{identities: [spiffe://mesh.example/ns/office/sa/browser]}},
         to: {{ports: [80], protocols: [tcp]}}}}
      - {{name: watch-guests, action: audit, from: {{prefixes: [10.10.1.128/25]}}}}
"""


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpz", SERVICES + authorization()) as r:
        topo, _ = r
        topo.ns(topo.client, ["ip", "addr", "add", f"{OTHER_CLIENT}/24", "dev", topo.client_if])
        yield r


def events(d, n):
    out = d.meshctl("-o", "json", "events", "--replay", str(n), "--count", str(n), check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_identities_decide_who_may_connect(rig):
    topo, d = rig
    answers, errors = topo.lb_client("http", WEB, 80, 20, parallel=4)
    assert errors == [] and sum(answers.values()) == 20
    r = topo.ns(topo.client, ["curl", "-sS", "--connect-timeout", "1", "--interface", OTHER_CLIENT,
                              f"http://{WEB}/"], check=False)
    assert r.returncode == 28, "denied: the SYN is dropped, the client hears nothing"
    s = d.wait_for(lambda s: s["drops"]["authz_denied"] >= 1)
    web = next(x for x in s["services"] if x["name"] == "web")
    assert web["drops"]["authz_denied"] >= 1 and web["authz_audited"] >= 1
    d.wait_log("authorization: service 'web': audit rule 'watch-guests'", 10)
    out = d.meshctl("explain", "--from", OTHER_CLIENT, "--to", WEB, "--port", "80", check=True).stdout
    assert "no mapped identity" in out and "the default decides: deny" in out and "verdict: denied" in out
    table = d.meshctl("get", "policies", check=True).stdout
    assert "authorization of service web: default deny" in table and "allow 'office'" in table


def test_a_change_cuts_the_connections_it_denies_and_says_how_many(rig):
    topo, d = rig
    keep = SlowDownload(topo, f"{WEB}:80", size=2_000_000, rate=1_000_000)
    keep.wait_bytes(100_000)
    # The same authorization with a wider mapping: the download is still allowed.
    d.write_policy(topo.policy(SERVICES + authorization(office="10.10.1.0/24")))
    d.meshctl("apply", "-f", d.config, check=True)
    rc, digest, err = keep.finish()
    assert rc == 0 and digest == keep.expected_digest(), err
    cut = SlowDownload(topo, f"{WEB}:80", size=4_000_000, rate=400_000, max_time=20)
    cut.wait_bytes(100_000)
    before = d.stats()["services"][0]["authz_cut"]
    d.write_policy(topo.policy(SERVICES + authorization(office="10.10.1.128/25")))  # the client is no longer 'office'
    d.meshctl("apply", "-f", d.config, check=True)
    rc, _, _ = cut.finish()
    assert rc != 0, "the download was cut"
    d.wait_log("authorization change checked against every connection: 1 cut", 10)
    assert any(e["kind"] == "authz_applied" and "1 cut" in e["message"] for e in events(d, 5))
    d.wait_for(lambda s: s["services"][0]["authz_cut"] == before + 1)


def service_behind_b(host_b, allowed):
    return f"""services:
  - {{name: api, vip: 10.2.0.100, ports: [{{protocol: tcp, port: 80, target_port: 8080}}],
     endpoints: [{{address: {host_b}}}]}}
authorization:
  - service: api
    default: deny
    rules:
      - {{name: from-a, action: allow, from: {{identities: [{allowed}]}}}}
identities:
  - {{name: spiffe://mesh.example/ns/a/sa/other, prefixes: [10.1.0.128/25], peer: site-a}}
"""


def test_a_peer_identity_admits_what_arrives_over_its_sas():
    gw_a = "spiffe://mesh.example/gateway/gw-a"
    t = TwoSites(prefix="mpy", peer_a_identity=gw_a, extra_b=service_behind_b("10.2.0.2", gw_a))
    with running(t) as (_, b):
        url = "http://10.2.0.100/"
        r = t.ns(t.site_a, ["curl", "-sS", "--max-time", "10", "--retry", "3", "--retry-connrefused", url], check=False)
        assert r.returncode == 0 and r.stdout.strip() == "site-b", r.stderr
        out = b.meshctl("explain", "--from", t.host_a, "--to", "10.2.0.100", "--port", "80", check=True).stdout
        assert f"over peer 'site-a' ({gw_a})" in out and "rule 'from-a'" in out, out
        # Name an identity site-a's host does not have: its next connection is refused.
        text = open(b.config).read().replace(f"identities: [{gw_a}]", "identities: [spiffe://mesh.example/ns/a/sa/other]")
        b.write_policy(text)
        b.meshctl("apply", "-f", b.config, check=True)
        r = t.ns(t.site_a, ["curl", "-sS", "--connect-timeout", "1", url], check=False)
        assert r.returncode == 28
        b.wait_for(lambda s: s["drops"]["authz_denied"] >= 1)
