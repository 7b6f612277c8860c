"""Encryption between gateways, end to end: two meshplane gateways join two
sites (real kernel TCP in namespaces) over a wide-area bridge; scapy, an ESP
implementation that is not ours, is a third peer. Checked on the wire with
tshark: only ESP crosses, and tshark decrypts it with the configured keys."""
import json
import os
import subprocess
import tempfile
import time

import pytest

from testbed.paths import HELPERS
from testbed.tunnel import SPI_AB, SPI_B_TO_PEER, SPI_BA, SPI_PEER_TO_B, TwoSites, running
from testbed.wire import capture, captured, esp_ivs, stream_digest

ESP_PEER = os.path.join(HELPERS, "esp_peer.py")
ESP_BAD = os.path.join(HELPERS, "esp_bad.py")
SIZE = 20_000_000


@pytest.fixture(scope="module", params=["esp", "udp"])
def sites(request):
    t = TwoSites(prefix="mpe" if request.param == "esp" else "mpu4", encapsulation=request.param,
                 peer_esn=request.param == "udp")
    with running(t) as (a, b):
        yield t, a, b


def tshark(path, *args):
    r = subprocess.run(["tshark", "-r", path, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_twenty_megabytes_each_way_arrive_intact_and_only_esp_crosses(sites):
    t, a, b = sites
    work = tempfile.mkdtemp(prefix="mpe-transfer-")
    pcap = os.path.join(work, "wan.pcapng")
    with captured(t.wan, "br0", pcap):
        got_a, got_b = t.stream_both_ways(SIZE, work)
    assert got_a == stream_digest(SIZE) and got_b == stream_digest(SIZE)

    # On the wire: IPv4 between the gateways is ESP (or ESP in UDP 4500) and nothing else.
    esp = "udp.port == 4500" if t.encapsulation == "udp" else "esp"
    plain = tshark(pcap, "-Y", f"ip and not ({esp}) and not icmp", "-T", "fields", "-e", "frame.number")
    assert plain.strip() == "", f"plaintext on the wide-area link: frames {plain.split()[:10]}"
    assert int(tshark(pcap, "-Y", esp, "-T", "fields", "-e", "frame.number").split()[-1]) > 20_000

    # tshark, given the keys, decrypts the capture and finds the TCP streams.
    uat = [f'"IPv4","{src}","{dst}","{hex(spi)}","AES-GCM with 16 octet ICV [RFC4106]","0x{key}","NULL",""'
           for src, dst, spi, key in ((t.gw_a_wan, t.gw_b_wan, SPI_AB, t.keys["ab"]),
                                      (t.gw_b_wan, t.gw_a_wan, SPI_BA, t.keys["ba"]))]
    opts = ["-o", "esp.enable_encryption_decode:TRUE"]
    if t.encapsulation == "udp":
        opts += ["-o", "udp.try_heuristic_first:TRUE", "-d", "udp.port==4500,udpencap"]
    for u in uat:
        opts += ["-o", f"uat:esp_sa:{u}"]
    streams = tshark(pcap, *opts, "-Y", "tcp.port == 8080 and ip.src == 10.1.0.2", "-T", "fields", "-e",
                     "tcp.stream")
    assert len(set(streams.split())) >= 2, "tshark found no TCP stream inside the ESP"

    sas = json.loads(b.meshctl("get", "sas", "-o", "json", check=True).stdout)
    inbound = next(s for s in sas if s["peer"] == "site-a" and s["direction"] == "inbound")
    assert inbound["packets"] > 10_000, inbound
    assert inbound["auth_failed"] == 0 and inbound["replayed"] == 0, inbound


def test_scapy_peer_talks_to_meshplane_both_ways(sites):
    t, a, b = sites
    args = ["/usr/bin/python3", ESP_PEER, t.gw_b_wan, t.peer_ip, t.host_b, "7", "10",
            "--out", f"{hex(SPI_PEER_TO_B)}:{t.keys['peer_to_b']}", "--in", f"{hex(SPI_B_TO_PEER)}:{t.keys['b_to_peer']}"]
    if t.encapsulation == "udp":
        args.append("--udp")
    if t.peer_esn:
        args.append("--esn")
    r = t.ns(t.peer, args, check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["errors"] == [] and out["answers"] == ["site-b"] * 10, out


def test_bad_esp_is_dropped_by_reason_and_other_traffic_flows(sites):
    t, a, b = sites
    before = b.stats()["drops"]
    ping = subprocess.Popen(["ip", "netns", "exec", t.site_a, "ping", "-q", "-c", "30", "-i", "0.05", t.host_b],
                            stdout=subprocess.PIPE, text=True)
    args = ["/usr/bin/python3", ESP_BAD, t.gw_b_wan, t.peer_ip, t.host_b,
            "--sa", f"{hex(SPI_PEER_TO_B)}:{t.keys['peer_to_b']}"]
    args += ["--udp"] if t.encapsulation == "udp" else []
    args += ["--esn"] if t.peer_esn else []
    r = t.ns(t.peer, args, check=False, timeout=60)
    assert r.returncode == 0, r.stderr
    sent = json.loads(r.stdout)
    after = b.wait_for(lambda s: all(s["drops"][k] - before[k] >= n for k, n in sent.items()), 10)["drops"]
    assert {k: after[k] - before[k] for k in sent} == sent, "each refused exactly once, by its reason"
    assert ping.wait(30) == 0 and " 0% packet loss" in ping.stdout.read(), "the tunnel between the sites went on"


def test_keys_never_leave_the_gateway(sites):
    t, a, b = sites
    shown = a.meshctl("get", "policy", check=True).stdout + b.meshctl("get", "policy", check=True).stdout
    shown += a.meshctl("get", "sas", "-o", "json", check=True).stdout + b.meshctl("stats", "-o", "json").stdout
    shown += a.log_text() + b.log_text() + open(a.stats_file).read()
    for key in t.keys.values():
        assert key not in shown and key[:16] not in shown
    assert t.key_file_a in shown, "a key file is named, not read out"


# Runs last in this module: it restarts gateway A.
def test_no_nonce_is_sent_twice_across_a_policy_change_and_a_restart(sites):
    t, a, b = sites
    work = tempfile.mkdtemp(prefix="mpe-nonce-")
    pcap = os.path.join(work, "wan.pcapng")
    cap = capture(t.wan, "br0", pcap)
    ping = subprocess.Popen(["ip", "netns", "exec", t.site_a, "ping", "-q", "-i", "0.01", "-w", "30", t.host_b],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # a stream under way: the steps below happen mid-stream
        changed = a.config + ".changed"
        with open(changed, "w") as f:
            f.write(open(a.config).read().replace("tcp_mss: 1360", "tcp_mss: 1300"))
        r = a.meshctl("apply", "-f", changed)
        assert r.returncode == 0, r.stderr
        time.sleep(2)
        a.stop()
        a.start()
        deadline = time.time() + 20
        while time.time() < deadline and json.loads(a.meshctl("get", "sas", "-o", "json", check=True).stdout)[0].get(
                "packets", 0) < 100:
            time.sleep(0.2)
    finally:
        ping.wait(60)
        time.sleep(0.5)
        cap.terminate()
        cap.wait(10)
    sent = esp_ivs(pcap, t.gw_a_wan)
    assert len(sent) > 1000, len(sent)
    duplicates = len(sent) - len(set(sent))
    assert duplicates == 0, f"{duplicates} (SPI, IV) pairs sent twice under one key"
    after = [int(iv, 16) for spi, iv in sent if int(spi, 16) == SPI_AB]
    assert max(after) > (1 << 22), "after the restart, numbers continue above the reservation"
