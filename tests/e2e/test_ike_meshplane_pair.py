"""Two meshplane gateways keyed by each other with IKEv2 (testbed/tunnel.py's
two sites, certificates from one test CA): both initiate at start (one IKE
SA stays), no NAT between them, so ESP is plain IP protocol 50 and IKE stays
on UDP 500. 20 MB cross each way intact with nothing else on the link; a
restarted gateway comes back and its peer takes the new IKE SA."""
import json
import os
import subprocess
import tempfile
import time
import urllib.request

import pytest

from testbed.paths import HELPERS
from testbed.ike_sites import GW_A, GW_B, make_pki, meshplane_pair_policy, wait_established
from testbed.tunnel import TwoSites, running
from testbed.wire import captured, ip_fields, stream_digest

IKE_FLOOD = os.path.join(HELPERS, "ike_flood.py")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    t = TwoSites(prefix="mpkp")
    pki = make_pki(tmp_path_factory.mktemp("ike-pair-pki"))
    policies = {side: (lambda seq, side=side: meshplane_pair_policy(t, pki, side, seq)) for side in ("a", "b")}
    with running(t, policies=policies) as (a, b):
        yield t, a, b


def test_two_meshplane_gateways_key_each_other_and_carry_plain_esp(pair):
    t, a, b = pair
    peer_a, peer_b = wait_established(a), wait_established(b)
    assert peer_a["identity"] == GW_B and peer_b["identity"] == GW_A
    assert peer_a["spi_i"] == peer_b["spi_i"], "one IKE SA, though both initiated"
    assert not peer_a["udp"] and not peer_b["udp"], "no NAT: plain ESP"
    work = tempfile.mkdtemp(prefix="mpkp-transfer-")
    pcap = os.path.join(work, "wan.pcapng")
    size = 20_000_000
    with captured(t.wan, "br0", pcap):
        got_a, got_b = t.stream_both_ways(size, work)
    assert got_a == stream_digest(size) and got_b == stream_digest(size)
    rows = ip_fields(pcap, "ip.proto", "udp.dstport")
    others = [r for r in rows if r[0] != "50" and r != ["17", "500"]]
    assert not others, f"neither ESP nor IKE on the link: {others[:10]}"
    assert sum(r[0] == "50" for r in rows) > 20_000
    for d in (a, b):
        for sa in json.loads(d.meshctl("-o", "json", "get", "sas", check=True).stdout):
            assert sa["encapsulation"] == "esp" and sa["auth_failed"] == 0, sa
    # The IKE metrics, as Prometheus reads them (promtool checks the exposition).
    url = json.loads(a.meshctl("-o", "json", "status", check=True).stdout)["metrics"]
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'meshplane_ike_peer_up{peer="site-b"} 1' in text and 'meshplane_ike_child_sas{peer="site-b"} 1' in text


def test_a_restarted_gateway_is_keyed_again(pair):
    t, a, b = pair
    before = wait_established(b)
    a.stop()
    a.start()
    restarted = wait_established(a, timeout=60)
    # B takes the new IKE SA (a later one replaces the one before) and traffic flows on it.
    deadline = time.time() + 30
    while (now := wait_established(b))["spi_i"] != restarted["spi_i"] and time.time() < deadline:
        time.sleep(0.1)
    assert now["spi_i"] != before["spi_i"] and now["spi_i"] == restarted["spi_i"], (before, now)
    r = t.ns(t.site_a, ["ping", "-n", "-q", "-c", "5", "-i", "0.2", "-W", "2", t.host_b], check=False, timeout=30)
    assert " 0% packet loss" in r.stdout, r.stdout


def test_a_flood_of_spoofed_ike_sa_init_leaves_the_tunnel_alone(pair):
    """RFC 7296 section 2.6: past a threshold of half-open SAs every new
    IKE_SA_INIT must bring a cookie back first, so spoofed sources leave no
    state; the workers hand IKE over at a bounded rate; the established
    tunnel carries on."""
    t, a, b = pair
    before = wait_established(a)
    flood = subprocess.Popen(["ip", "netns", "exec", t.peer, "/usr/bin/python3", IKE_FLOOD, t.gw_a_wan, "6"],
                             stdout=subprocess.PIPE, text=True)
    r = t.ns(t.site_a, ["ping", "-n", "-q", "-c", "80", "-i", "0.05", "-W", "2", t.host_b], check=False, timeout=60)
    sent = json.loads(flood.communicate(timeout=60)[0])
    assert " 0% packet loss" in r.stdout, r.stdout
    after = wait_established(a)
    assert after["spi_i"] == before["spi_i"] and after["child_sas"] == before["child_sas"]
    s = a.stats()
    print(f"flood: {sent['sent']} IKE_SA_INIT in {sent['seconds']:.1f} s; half-open {s['ike_half_open']}, "
          f"cookies {s['ike_cookies_sent']}, ike_limited {s['drops'].get('ike_limited', 0)}")
    assert sent["sent"] > 1000
    assert s["ike_cookies_sent"] > 0, "past the threshold, cookies"
    assert s["ike_half_open"] <= 256, "half-open SAs stop at the cookie threshold"
