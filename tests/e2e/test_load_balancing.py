"""Load balancing with real hosts: a client opens hundreds of real TCP
connections (and UDP exchanges) to VIPs served by three backend namespaces
running HTTP servers that name themselves. Two workers (one CPU, so this is
about function): NAT replies that the kernel's fanout gives the other worker
are handed to the worker owning the flow."""
import subprocess

import pytest

from testbed import EAL_ARGS, endpoint, lb_policy, lb_rig, service, service_stats

TWO_WORKERS = ["--lcores", "0@0,1@1,2@1"] + EAL_ARGS[2:]
WEB, WEIGHTED, CANARY, DNS, VIDEO = "10.30.0.10", "10.30.0.11", "10.30.0.12", "10.30.0.53", "10.30.0.20"

BACKENDS = ["10.10.2.11", "10.10.2.12", "10.10.2.13"]
SERVICES = lb_policy(
    service("web", WEB, BACKENDS, unknown_port="reject"),
    service("weighted", WEIGHTED, [endpoint(a, weight=w) for a, w in zip(BACKENDS, (1, 2, 3))]),
    service("canary", CANARY, [endpoint(a, subset=s) for a, s in zip(BACKENDS, ("v1", "v1", "v2"))],
            subsets=[{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}]),
    service("dns", DNS, BACKENDS, ports=[("udp", 53, 5353)]),
    service("video", VIDEO, BACKENDS[1:], ports=[("tcp", 8443)], mode="direct_return"))


@pytest.fixture(scope="module")
def lb():
    with lb_rig("mpl", SERVICES, eal_args=TWO_WORKERS, qpairs=2, direct_return_vip=VIDEO, http_ports=(8080, 8443),
                udp_ports=(5353,)) as rig:
        yield rig


def test_nat_spreads_hundreds_of_connections_evenly(lb):
    topo, d = lb
    answers, errors = topo.lb_client("http", WEB, 80, 600, parallel=16)
    assert errors == []
    assert sum(answers.values()) == 600
    assert set(answers) == {"b1", "b2", "b3"}
    for name, n in answers.items():  # ideal 200; Maglev over random client ports: sd ~11.5
        assert 140 <= n <= 260, answers
    s = d.wait_for(lambda s: service_stats(s, "web")["new_flows"] >= 600)
    web = service_stats(s, "web")
    assert web["new_flows"] == 600, "one flow per connection, none lost or doubled"
    by_address = {e["address"]: e["new_flows"] for e in web["endpoints"]}
    assert by_address == {f"10.10.2.{11 + i}": answers[f"b{i + 1}"] for i in range(3)}, \
        "the gateway's per-endpoint counters agree with what the backends answered"
    assert sum(w["handed_off"] for w in s["workers"]) > 0, "some replies reached the other worker"


def test_weights_are_honoured(lb):
    topo, _ = lb
    answers, errors = topo.lb_client("http", WEIGHTED, 80, 600, parallel=16)
    assert errors == []
    for name, ideal in (("b1", 100), ("b2", 200), ("b3", 300)):
        assert abs(answers[name] - ideal) <= 50, answers


def test_subsets_split_canary_traffic(lb):
    topo, _ = lb
    answers, errors = topo.lb_client("http", CANARY, 80, 800, parallel=16)
    assert errors == []
    assert 40 <= answers.get("b3", 0) <= 130, f"v2 should get about 10% of 800: {answers}"
    assert abs(answers["b1"] - answers["b2"]) <= 120, answers


def test_udp_service(lb):
    topo, d = lb
    answers, errors = topo.lb_client("udp", DNS, 53, 150, parallel=8)
    assert errors == []
    assert set(answers) == {"b1", "b2", "b3"}, answers
    # 150 sockets, but the kernel may hand a closed socket's port to a later one:
    # the same 5-tuple within the UDP timeout is the same flow, so allow a few fewer.
    s = d.wait_for(lambda s: service_stats(s, "dns")["new_flows"] >= 140)
    assert service_stats(s, "dns")["new_flows"] <= 150
    assert sum(service_stats(s, "dns")["drops"].values()) == 0


def tshark_ipip(topo, backend, count):
    """tshark (an independent decoder) on a backend, for IP-in-IP frames: one line per frame."""
    p = subprocess.Popen(["ip", "netns", "exec", backend, "tshark", "-l", "-n", "-i", "eth0", "-f", "ip proto 4",
                          "-c", str(count), "-a", "duration:30", "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=;",
                          "-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto", "-e", "tcp.dstport", "-e", "ip.checksum.status"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while "Capturing on" not in p.stderr.readline():
        assert p.poll() is None, "tshark did not start"
    return p


def test_direct_return_through_ipip(lb):
    topo, d = lb
    before = {b: topo.tunnel_rx_packets(b) for b in topo.backends}
    capture = tshark_ipip(topo, "mpl-b3", 10)
    answers, errors = topo.lb_client("http", VIDEO, 8443, 100, parallel=8)
    assert errors == []
    frames = capture.communicate(timeout=30)[0].split()
    assert len(frames) == 10, frames
    for f in frames:
        src, dst, proto, dport, checksums = f.split(";")
        # Outer then inner header, as tshark decodes them.
        assert src == f"{topo.gw_server_ip},{topo.client_ip}", f
        assert dst == f"10.10.2.13,{VIDEO}", f
        assert proto == "4,6" and dport == "8443", f
        assert checksums == "1,1", f"tshark verifies both IP header checksums: {f}"
    assert set(answers) == {"b2", "b3"}, answers
    after = {b: topo.tunnel_rx_packets(b) for b in topo.backends}
    assert after["mpl-b1"] == before["mpl-b1"], "b1 is not an endpoint of the direct-return service"
    for name in ("b2", "b3"):
        # At least SYN, ACK, request and FIN per connection arrive encapsulated.
        assert after[f"mpl-{name}"] - before[f"mpl-{name}"] >= 3 * answers[name], (before, after)
    s = d.wait_for(lambda s: service_stats(s, "video")["new_flows"] >= 100)
    assert service_stats(s, "video")["mode"] == "direct_return"


def test_unknown_port_is_refused(lb):
    topo, d = lb
    r = topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", f"http://{WEB}:81/"], check=False)
    assert r.returncode == 7, f"connection refused by the gateway's RST: {r.returncode} {r.stderr}"
    s = d.wait_for(lambda s: service_stats(s, "web")["drops"]["vip_unknown_port"] >= 1)
    assert s["drops"]["vip_unknown_port"] >= 1
