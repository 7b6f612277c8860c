"""Malformed frames sent with scapy from a real host are dropped and counted by
reason, while real traffic keeps flowing and the daemon keeps running."""
import subprocess
import textwrap

# Each case: drop reason -> scapy expression for the frame (GW is the gateway
# port's MAC, SRC the client's). Counted exactly, so each must hit one reason.
CASES = {
    "bad_ipv4_checksum": "Ether(dst=GW, src=SRC)/IP(src=C, dst=S, chksum=0x1234)/UDP(dport=9)/Raw(b'x'*20)",
    "bad_ipv4_total_length": "Ether(dst=GW, src=SRC)/IP(src=C, dst=S, len=1400)/UDP(dport=9)/Raw(b'x'*20)",
    "bad_ipv4_header_length": "Ether(dst=GW, src=SRC)/IP(src=C, dst=S, ihl=4)/UDP(dport=9)/Raw(b'x'*20)",
    "bad_ipv4_version": "Ether(dst=GW, src=SRC, type=0x0800)/IPv6(src='fe80::1', dst='fe80::2')/Raw(b'x'*20)",
    "short_frame": "Ether(dst=GW, src=SRC, type=0x0800)/Raw(b'\\x45\\x00\\x00')",
    "ipv6_unsupported": "Ether(dst=GW, src=SRC)/IPv6(src='fd00::1', dst='fd00::2')/UDP(dport=9)",
    "unsupported_ethertype": "Ether(dst=GW, src=SRC)/Dot1Q(vlan=7)/IP(src=C, dst=S)/UDP(dport=9)",
    "martian_source": "Ether(dst=GW, src=SRC)/IP(src='127.0.0.1', dst=S)/UDP(dport=9)",
    "arp_malformed": "Ether(dst=GW, src=SRC)/ARP(hwlen=8, op=1, psrc=C, pdst=G)",
}
COUNT = 25


def send_frames(topo, gw_mac, frames):
    src_mac = topo.ns(topo.client, ["cat", f"/sys/class/net/{topo.client_if}/address"]).stdout.strip()
    script = textwrap.dedent(f"""
        import logging
        logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
        from scapy.all import Ether, IP, IPv6, UDP, ARP, Dot1Q, Raw, sendp
        GW, SRC, C, S, G = '{gw_mac}', '{src_mac}', '{topo.client_ip}', '{topo.server_ip}', '{topo.gw_client_ip}'
        frames = []
        for expr, n in {frames!r}:
            frames += [eval(expr)] * n
        sendp(frames, iface='{topo.client_if}', verbose=False)
    """)
    topo.ns(topo.client, ["/usr/bin/python3", "-c", script], timeout=120)


def test_each_malformed_frame_is_counted_by_reason(topo, gateway):
    gw_mac = topo.mac(topo.gw_client_if)
    before = gateway.stats()["drops"]
    send_frames(topo, gw_mac, [(expr, COUNT) for expr in CASES.values()])
    after = gateway.wait_for(lambda s: all(s["drops"][r] >= before[r] + COUNT for r in CASES))["drops"]
    for reason in CASES:
        assert after[reason] - before[reason] == COUNT, reason


def test_traffic_keeps_flowing_during_malformed_flood(topo, gateway):
    gw_mac = topo.mac(topo.gw_client_if)
    ping = subprocess.Popen(["ip", "netns", "exec", topo.client, "ping", "-c", "20", "-i", "0.1", "-W", "2",
                             topo.server_ip], stdout=subprocess.PIPE, text=True)
    send_frames(topo, gw_mac, [(expr, 300) for expr in CASES.values()])
    out, _ = ping.communicate(timeout=60)
    assert ping.returncode == 0, out
    assert " 0% packet loss" in out, out
    assert gateway.proc.poll() is None, "meshplane must survive malformed traffic"
