"""IKEv2 in the daemon against strongSwan, end to end (testbed/ike_sites.py):
site A host - meshplane - link - charon (its own namespace, userspace ESP) -
site B host, real kernel TCP and ping between the hosts. The workers punt
IKE to the control thread and route its answers; the Child SAs IKE agrees
become the peer's SAs. Either side initiates; 20 MB cross each way with only
UDP 4500 (ESP, and IKE with the non-ESP marker) on the link; rekeys every
20 s from both sides, under a running transfer and a paced ping, lose
nothing; a charon that dies is noticed by liveness checks and the tunnel
returns with it; a certificate naming another gateway, or from another CA,
is refused with the reason."""
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

from testbed.ike_sites import GW_B, CharonSites, ike_peers, make_pki, start_meshplane, wait_established
from testbed.paths import MESHPLANE
from testbed.tunnel import start_servers
from testbed.wire import captured, ip_fields, stream_digest


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    t = CharonSites().up()
    pki = make_pki(tmp_path_factory.mktemp("ike-pki"))
    servers = start_servers(t)
    try:
        yield t, pki
    finally:
        for s in servers:
            s.kill()
            s.wait()
        t.down()


@pytest.fixture
def gateways(sites, tmp_path):
    """Starts what a test asks for; stops it all afterwards."""
    t, pki = sites
    started = []

    def start(meshplane=None, charon=None, which="b"):
        a = c = None
        if charon is not None:
            c = t.charon(tmp_path / f"charon-{len(started)}", pki, which, **charon).start()
            started.append(c)
        if meshplane is not None:
            a = start_meshplane(t, pki, str(tmp_path), **meshplane)
            started.append(a)
        return a, c

    yield t, start
    for p in reversed(started):
        p.stop()


def ping(t, count, interval="0.2"):
    r = t.ns(t.site_a, ["ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", "2", t.host_b], check=False,
             timeout=count * float(interval) + 30)
    received = re.search(r"(\d+) received", r.stdout)
    return int(received.group(1)) if received else 0, r.stdout


def events(daemon, kind_prefix="ike"):
    return [e for e in daemon.events() if e["kind"].startswith(kind_prefix)]


def wait_for_event(daemon, text, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(text in e["message"] for e in events(daemon)):
            return
        time.sleep(0.2)
    raise TimeoutError(f"no event with '{text}': {events(daemon)}")


def test_we_initiate_and_twenty_megabytes_cross_as_udp_4500_only(gateways):
    t, start = gateways
    a, charon = start(charon={}, meshplane={"initiate": True})
    peer = wait_established(a)
    assert peer["identity"] == GW_B and peer["initiator"] and peer["udp"], peer
    assert "IKE_SA gw[1] established between 192.0.2.9[gw-b.example]...192.0.2.1[gw-a.example]" in charon.log()
    assert "CHILD_SA net{1} established" in charon.log()

    work = tempfile.mkdtemp(prefix="mpk-transfer-")
    pcap = os.path.join(work, "wan.pcapng")
    size = 20_000_000
    with captured(t.wan, "br0", pcap):
        got_a, got_b = t.stream_both_ways(size, work)
    assert got_a == stream_digest(size) and got_b == stream_digest(size)
    rows = ip_fields(pcap, "ip.proto", "udp.srcport", "udp.dstport")
    others = [r for r in rows if r != ["17", "4500", "4500"]]
    assert not others, f"not UDP 4500 on the link: {others[:10]}"
    assert len(rows) > 20_000
    sas = {(s["peer"], s["direction"]): s for s in json.loads(
        a.meshctl("-o", "json", "get", "sas", check=True).stdout)}
    assert sas[("site-b", "inbound")]["packets"] > 10_000 and sas[("site-b", "inbound")]["auth_failed"] == 0
    assert sas[("site-b", "outbound")]["encapsulation"] == "udp"
    assert sas[("site-b", "inbound")]["keying"] == "ike" and sas[("site-b", "inbound")]["identity"] == GW_B
    table = a.meshctl("get", "ike", check=True).stdout
    assert "established (udp 4500)" in table and GW_B in table, table


def test_strongswan_initiates_to_us(gateways):
    t, start = gateways
    a, _ = start(meshplane={"initiate": False})
    assert ike_peers(a)[0]["state"] == "down, waiting for the peer"
    start(charon={"start_action": "start"})
    peer = wait_established(a)
    assert not peer["initiator"] and peer["identity"] == GW_B, peer
    received, out = ping(t, 10)
    assert received == 10, out
    assert any("(it initiated)" in e["message"] for e in events(a, "ike_up"))


def test_rekeys_from_both_sides_under_load_lose_nothing(gateways):
    """Both sides rekey the Child SA every 20 s (theirs and ours jittered, so
    either may start, and at times both at once), and the IKE SA every 35-40 s,
    while 20 MB cross at a pace that takes about 50 s and pings go every 50 ms."""
    t, start = gateways
    a, charon = start(charon={"child_rekey": "20s", "ike_rekey": "35s"},
                      meshplane={"initiate": True, "child_rekey": 20, "ike_rekey": 40})
    wait_established(a)
    work = tempfile.mkdtemp(prefix="mpk-rekey-")
    pinger = subprocess.Popen(["ip", "netns", "exec", t.site_a, "ping", "-n", "-q", "-c", "1000", "-i", "0.05", "-W",
                               "2", t.host_b], stdout=subprocess.PIPE, text=True)
    size = 20_000_000
    got = t.fetch(t.site_a, f"http://{t.host_b}:8080/stream?bytes={size}", os.path.join(work, "at-a"), rate="400k")
    out, _ = pinger.communicate(timeout=120)
    assert got == stream_digest(size)
    assert re.search(r"1000 packets transmitted, 1000 received", out), out
    rekeys = [e["message"] for e in events(a) if "rekeyed Child SA" in e["message"]]
    assert len(rekeys) >= 2, rekeys
    assert len(wait_established(a)["child_sas"]) <= 2, "old Child SAs are deleted after each rekey"
    assert charon.log().count("CHILD_SA net{") >= 3, "strongSwan saw the rekeys too"
    assert [e for e in events(a) if "rekeyed the IKE SA" in e["message"]], "the IKE SA was rekeyed too"


def test_a_dead_strongswan_is_noticed_and_the_tunnel_returns_with_it(gateways, sites, tmp_path):
    t, start = gateways
    _, pki = sites
    a, charon = start(charon={}, meshplane={"initiate": True})
    first = wait_established(a)
    charon.kill()  # gone without a word: only liveness checks can tell
    wait_for_event(a, "dead", 30)
    assert ike_peers(a)[0]["state"] != "established"
    assert not [s for s in json.loads(a.meshctl("-o", "json", "get", "sas", check=True).stdout)
                if s["peer"] == "site-b"], "a dead peer's SAs are removed"
    revived = t.charon(tmp_path / "charon-revived", pki).start()
    try:
        again = wait_established(a, timeout=90)  # we try again, backing off
        assert again["spi_i"] != first["spi_i"]
        received, out = ping(t, 5)
        assert received == 5, out
    finally:
        revived.stop()


@pytest.mark.parametrize("which,why", [("b-other-identity", "certificate is not " + GW_B),
                                       ("b-other-ca", "certificate refused: unable to get local issuer certificate")])
def test_a_certificate_of_another_identity_or_ca_is_refused(gateways, which, why):
    t, start = gateways
    a, _ = start(charon={}, meshplane={"initiate": True}, which=which)
    wait_for_event(a, why, 30)
    peer = ike_peers(a)[0]
    assert peer["state"] != "established" and why in peer["last_failure"], peer
    received, _ = ping(t, 2)
    assert received == 0, "nothing crosses without a tunnel"
    assert a.stats()["drops"].get("esp_tunnel_down", 0) >= 2, "pings for the peer are dropped, counted"


def test_check_names_credentials_that_do_not_belong_together(sites, tmp_path):
    """`meshplane --check` reads the files behind `ike` as start-up does."""
    t, pki = sites
    cert, key = pki["b-other-ca"]  # ours would be a certificate our own CA bundle does not verify
    policy = t.meshplane_policy(dict(pki, a=(cert, key)), str(tmp_path / "a.seq"))
    path = tmp_path / "policy.yaml"
    path.write_text(policy)
    r = subprocess.run([MESHPLANE, "--check", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    line = next(n for n, text in enumerate(policy.splitlines(), 1) if text.startswith("  certificate:"))
    assert f"{path}:{line}:" in r.stderr and "does not verify against ike.ca" in r.stderr, r.stderr
    os.chmod(key, 0o644)
    try:
        r = subprocess.run([MESHPLANE, "--check", str(path)], capture_output=True, text=True, timeout=30)
        assert "open to group or others (mode 0644)" in r.stderr and "BEGIN" not in r.stderr, r.stderr
    finally:
        os.chmod(key, 0o600)
