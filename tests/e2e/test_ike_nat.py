"""IKEv2 through a real NAT (testbed/ike_sites.py's NattedCharonSites):
charon sits behind a namespace that masquerades its IKE and ESP to ports
40000-40999, and initiates to meshplane. Both sides detect the NAT
(RFC 7296 section 2.23), move to UDP 4500 and put ESP in UDP (RFC 3948);
meshplane sends its ESP to the port the NAT mapped, not to 4500, and the
hosts behind the two gateways talk through it."""
import json
import subprocess

import pytest

from testbed.ike_sites import GW_B, NattedCharonSites, make_pki, start_meshplane, wait_established
from testbed.tunnel import start_servers
from testbed.wire import captured, stream_digest


@pytest.fixture(scope="module")
def natted(tmp_path_factory):
    t = NattedCharonSites().up()
    pki = make_pki(tmp_path_factory.mktemp("ike-nat-pki"))
    servers = start_servers(t)
    a = charon = None
    try:
        charon = t.charon(tmp_path_factory.mktemp("charon"), pki, start_action="start").start()
        a = start_meshplane(t, pki, str(tmp_path_factory.mktemp("state")), initiate=False)
        yield t, a, charon
    finally:
        for p in (a, charon):
            if p:
                p.stop()
        for s in servers:
            s.kill()
            s.wait()
        t.down()


def test_esp_goes_to_the_port_the_nat_mapped(natted, tmp_path):
    t, a, charon = natted
    peer = wait_established(a)
    assert peer["udp"] and peer["identity"] == GW_B and not peer["initiator"], peer
    assert "remote host is behind NAT" in charon.log() or "local host is behind NAT" in charon.log()
    pcap = str(tmp_path / "wan.pcapng")
    size = 2_000_000
    with captured(t.wan, "br0", pcap):
        got = t.fetch(t.site_a, f"http://{t.host_b}:8080/stream?bytes={size}", str(tmp_path / "at-a"))
    assert got == stream_digest(size)
    ports = subprocess.run(["tshark", "-r", pcap, "-Y", f"ip.src == {t.gw_a_wan} and udp", "-T", "fields", "-e",
                            "udp.srcport", "-e", "udp.dstport"], capture_output=True, text=True, timeout=120,
                           check=True).stdout.split("\n")
    pairs = {tuple(map(int, line.split("\t"))) for line in ports if line}
    assert pairs and all(src == 4500 and 40000 <= dst <= 40999 for src, dst in pairs), pairs
    sas = json.loads(a.meshctl("-o", "json", "get", "sas", check=True).stdout)
    assert all(s["encapsulation"] == "udp" and s["auth_failed"] == 0 for s in sas), sas
    assert any(s["direction"] == "inbound" and s["packets"] > 500 for s in sas), sas
