"""Access rules with real hosts: a client in one namespace, three backends
behind the gateway. Allowed traffic (to a VIP, to a backend) works; a
rejected TCP connection is refused at once (the gateway's RST), a rejected
UDP exchange gets ICMP "administratively prohibited" (the kernel reports
"No route to host"), a denied one gets nothing; a rule with `log` produces
events; `meshctl get policies` counts hits and `meshctl explain` names the
rule that decides. A policy change under traffic loses nothing for an
allowed download, and a rule added later cuts a connection it denies."""
import json
import os

import pytest

from testbed import MESHPLANE, lb_policy, lb_rig, service, sh
from testbed.topology import SlowDownload

WEB = "10.30.0.10"
B1, B2, B3 = "10.10.2.11", "10.10.2.12", "10.10.2.13"
SERVICES = lb_policy(service("web", WEB, [B1, B2, B3]), service("dns", "10.30.0.53", [B1], ports=[("udp", 53, 5353)]))
RULES = f"""
access:
  log_per_second: 50
  rules:
    - {{name: no-b3-web, action: reject, protocol: tcp, destination: {B3}, destination_ports: 8080}}
    - {{name: quiet-b2, action: deny, destination: {B2}, log: true}}
    - {{name: no-udp-to-b1, action: reject, protocol: udp, destination: {B1}}}
"""


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpa", SERVICES + RULES, udp_ports=(5353,)) as r:
        yield r


def hits(d):
    rules = json.loads(d.meshctl("-o", "json", "get", "policies", check=True).stdout)["access_rules"]
    return {r["name"]: r["hits"] for r in rules}


def test_allowed_traffic_passes(rig):
    topo, d = rig
    answers, errors = topo.lb_client("http", WEB, 80, 60, parallel=8)
    assert errors == [] and sum(answers.values()) == 60
    answers, errors = topo.lb_client("http", B1, 8080, 5, parallel=1)
    assert errors == [] and answers == {"b1": 5}
    s = d.wait_for(lambda s: s["forwarded"] >= 65)
    assert s["drops"]["access_denied"] + s["drops"]["access_rejected"] == 0


def test_a_rejected_connection_is_refused_by_the_gateway(rig):
    topo, d = rig
    answers, errors = topo.lb_client("http", B3, 8080, 4, parallel=1)
    assert answers == {} and len(errors) == 4
    assert all("ConnectionRefusedError" in e for e in errors), errors
    assert hits(d)["no-b3-web"] == 4  # one SYN each: the RST ends every attempt
    # Through the VIP the same backend is reached with its NAT'd address: the rule is about the client's packets.
    answers, errors = topo.lb_client("http", WEB, 80, 30, parallel=4)
    assert errors == [] and "b3" in answers


def test_a_rejected_datagram_gets_icmp_prohibited(rig):
    topo, d = rig
    before = d.stats()["drops"]["access_rejected"]
    r = topo.ns(topo.client, ["/usr/bin/python3", "-c", f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect(("{B1}", 5353))
s.send(b"who")
try:
    s.recv(100)
    print("answered")
except OSError as e:
    print(e.errno)
"""])
    assert r.stdout.strip() == "113", "EHOSTUNREACH: Linux's reading of ICMP unreachable code 13"
    d.wait_for(lambda s: s["drops"]["access_rejected"] == before + 1)


def test_a_denied_connection_hears_nothing_and_is_logged(rig):
    topo, d = rig
    r = topo.ns(topo.client, ["curl", "-sS", "--connect-timeout", "1", f"http://{B2}:8080/"], check=False)
    assert r.returncode == 28, "a silent drop: curl's connect timeout, not a refusal"
    d.wait_log("access: rule 'quiet-b2'", 10)
    event = json.loads(d.meshctl("-o", "json", "events", "--replay", "1", "--count", "1", check=True).stdout)
    assert event["kind"] == "access_log"
    assert "rule 'quiet-b2' (line " in event["message"] and "denied tcp 10.10.1.2:" in event["message"]
    assert f"-> {B2}:8080 from port client" in event["message"]
    assert hits(d)["quiet-b2"] >= 1
    d.wait_for(lambda s: s["drops"]["access_denied"] >= 1 and s["access_logged"] >= 1)


def test_get_policies_and_explain(rig):
    _, d = rig
    table = d.meshctl("get", "policies", check=True).stdout
    assert "no-b3-web" in table and "tcp to 10.10.2.13/32 port 8080" in table and "default: allow" in table
    out = d.meshctl("explain", "--from", "10.10.1.2", "--to", B3, "--port", "8080", check=True).stdout
    assert "ingress: port client" in out and "rule 'no-b3-web'" in out and "verdict: rejected" in out
    out = d.meshctl("explain", "--from", "10.10.1.2", "--to", WEB, "--port", "80", check=True).stdout
    assert "service 'web' port 80" in out and "verdict: balanced" in out
    bad = d.meshctl("explain", "--from", "10.10.1.2", "--to", "10.10.2", "--port", "80")
    assert bad.returncode == 1 and "destination '10.10.2' is not an IPv4 address" in bad.stderr


def test_a_change_under_traffic_keeps_allowed_flows_and_a_new_rule_cuts(rig):
    topo, d = rig
    base = topo.policy(SERVICES + RULES)
    keep = SlowDownload(topo, f"{B1}:8080", size=3_000_000, rate=1_500_000)
    keep.wait_bytes(200_000)
    # Another rule, for other traffic: the classifier is rebuilt and swapped under the download.
    d.write_policy(base + "    - {name: unrelated, action: deny, protocol: tcp, destination_ports: 9999}\n")
    assert d.meshctl("apply", "-f", d.config, check=True).returncode == 0
    rc, digest, err = keep.finish()
    assert rc == 0 and digest == keep.expected_digest(), err
    cut = SlowDownload(topo, f"{B1}:8080", size=3_000_000, rate=500_000, max_time=20)
    cut.wait_bytes(100_000)
    d.write_policy(base + f"    - {{name: cut-b1, action: reject, protocol: tcp, source: 10.10.1.2, "
                          f"destination: {B1}}}\n")
    assert d.meshctl("apply", "-f", d.config, check=True).returncode == 0
    rc, _, err = cut.finish()
    assert rc != 0, "the client's next segment met the new rule: a RST ended the download"
    assert hits(d)["cut-b1"] >= 1


def test_rules_that_can_never_match_are_warned_of_by_check_and_apply(rig):
    topo, d = rig
    shadowed = RULES + "    - {name: never, action: allow, protocol: tcp, destination: 10.10.2.13, destination_ports: 8080}\n"
    text = topo.policy(SERVICES + shadowed)
    line = text.splitlines().index(next(x for x in text.splitlines() if "name: never" in x)) + 1
    path = os.path.join(os.path.dirname(d.config), "shadowed.yaml")
    with open(path, "w") as f:
        f.write(text)
    r = sh([MESHPLANE, "--check", path], check=False)
    assert r.returncode == 0, r.stderr
    assert f"{path}:{line}:7: warning: access rule 'never' can never match: rule 'no-b3-web'" in r.stderr
    assert "1 warning(s)" in r.stdout
    r = d.meshctl("apply", "-f", path, check=True)
    assert f":{line}:7: warning: access rule 'never' can never match" in r.stderr
