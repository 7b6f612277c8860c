"""Cooperative detach (issue 9.5): a port is taken out of the workers' poll
set, quiesced and stopped before its peer leaves, and started again after;
a port whose link goes down stops being polled until it is up. Hundreds of
cycles under traffic: no crash, the other port unaffected, traffic back
after each attach, packets for a detached port counted. (af_packet reports
no link state; link-down handling is tested in the unit tests on net_ring
and here on memif, where the link follows the peer.)"""
import json
import os
import subprocess

import pytest

from testbed import HELPERS, MESHCTL, Daemon, Topology

PORT_CYCLES = os.path.join(HELPERS, "port_cycles.py")


@pytest.fixture(scope="module")
def rig():
    topo = Topology(prefix="mpd").up()
    d = Daemon(topo.policy()).start()
    try:
        yield topo, d
    finally:
        assert d.stop() == 0, d.log_text()[-3000:]
        topo.down()


def port_states(d):
    return {p["name"]: p["state"] for p in json.loads(d.meshctl("-o", "json", "status", check=True).stdout)["ports"]}


def test_hundreds_of_detach_attach_cycles_under_traffic(rig):
    topo, d = rig
    assert port_states(d) == {"client": "up", "server": "up"}
    # Traffic meanwhile: through the cycled port (lost while it is detached) and
    # to the gateway's address on the other port (never lost).
    through = subprocess.Popen(["ip", "netns", "exec", topo.client, "ping", "-q", "-i", "0.01", topo.server_ip],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    other = subprocess.Popen(["ip", "netns", "exec", topo.client, "ping", "-q", "-i", "0.02", "-W", "5",
                              topo.gw_client_ip], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    r = topo.ns(topo.client, ["/usr/bin/python3", PORT_CYCLES, MESHCTL, d.socket, "server", "200", topo.server_ip],
                timeout=900)
    for p in (through, other):
        p.send_signal(2)  # SIGINT: ping prints its summary
    other_out, _ = other.communicate(timeout=30)
    through.communicate(timeout=30)
    result = json.loads(r.stdout)
    assert result["failures"] == [], result["failures"][:5]
    assert d.proc.poll() is None, "the daemon survived every cycle"
    assert " 0% packet loss" in other_out, other_out
    assert port_states(d) == {"client": "up", "server": "up"}
    s = d.wait_for(lambda s: s["drops"]["port_closed"] > 0, 10)
    assert s["drops"]["port_closed"] > 0, "packets for the detached port are counted"
    events = d.meshctl("events", "--replay", "64", "--count", "64", timeout=30).stdout
    assert "port_detached" in events and "port_attached" in events


def test_detach_of_an_unknown_port_is_refused(rig):
    topo, d = rig
    r = d.meshctl("ports", "detach", "nope")
    assert r.returncode == 1 and "no port named 'nope'" in r.stderr
    r = d.meshctl("ports", "attach", "client")
    assert r.returncode == 0 and "up (unchanged)" in r.stdout


# DPDK's memif PMD unmaps a link's memory when the peer leaves, with no
# handshake with the polling cores (the crash the field report saw). With a
# cooperative detach first, a peer under full traffic can leave and come
# back again and again.
MEMIF_POLICY = """ports:
  - name: a
    device: net_memif0,role=server,socket={sock},socket-abstract=no,id=0
    addresses: [10.99.0.1/24]
dataplane:
  mbufs: 4095
"""


def memif_peer(sock, prefix):
    """dpdk-testpmd as the memif client, sending at full speed (txonly)."""
    return subprocess.Popen(["dpdk-testpmd", "-l", "0,1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                             "--file-prefix", prefix, "--log-level", "lib.eal:warning",
                             "--vdev", f"net_memif0,role=client,socket={sock},socket-abstract=no,id=0", "--",
                             "--forward-mode=txonly", "--auto-start", "--total-num-mbufs", "4096", "--stats-period",
                             "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_state(d, port, state, timeout=30):
    for _ in range(int(timeout / 0.05)):
        states = port_states(d)
        if states[port] == state:
            return
        d.wait_for(lambda s: True, 1)
    raise TimeoutError(f"port {port} never became {state}: {port_states(d)}")


def test_memif_peer_leaves_and_returns_under_traffic_after_a_detach(tmp_path):
    sock = str(tmp_path / "a.sock")
    d = Daemon(MEMIF_POLICY.format(sock=sock), name="mpmemif").start()
    try:
        wait_state(d, "a", "link-down")  # no peer yet: not polled
        for cycle in range(30):
            peer = memif_peer(sock, f"mpmemif{cycle}")
            try:
                wait_state(d, "a", "up")
                rx = d.stats()["ports"][0]["rx_packets"]
                d.wait_for(lambda s: s["ports"][0]["rx_packets"] > rx + 1000, 30)  # under traffic
                r = d.meshctl("ports", "detach", "a")
                assert r.returncode == 0 and "detached" in r.stdout, r.stderr
            finally:
                os.killpg(peer.pid, 9)  # leaves without a word: safe once detached
                peer.wait()
            r = d.meshctl("ports", "attach", "a")
            assert r.returncode == 0, r.stderr
            assert d.proc.poll() is None, f"cycle {cycle}: the daemon died"
        wait_state(d, "a", "link-down")  # attached, no peer: polled once one connects
    finally:
        assert d.stop() == 0, d.log_text()[-3000:]
