"""Two sites joined by two meshplane gateways over a "wide area" link:

    site-a ns (10.1.0.2/24) -- [lan 10.1.0.1] gateway A [wan 192.0.2.1] --+
                                                                          wan ns: bridge br0 (captures here)
    site-b ns (10.2.0.2/24) -- [lan 10.2.0.1] gateway B [wan 192.0.2.2] --+
                                                    peer ns (192.0.2.9): an ESP peer that is not meshplane (scapy)

Gateway A protects 10.1.0.0/24 and B 10.2.0.0/24; B also has the scapy peer,
which protects 10.9.0.0/24. Every key is random per topology; A reads its
inbound key from a file (mode 0600), the rest are inline.
"""
import contextlib
import hashlib
import os
import secrets
import subprocess
import tempfile

from testbed.daemon import Daemon
from testbed.paths import NAMED_SERVER, sh

SPI_AB, SPI_BA, SPI_PEER_TO_B, SPI_B_TO_PEER = 0x1001, 0x2001, 0x3001, 0x3002


def key_material():
    """AES-GCM-128 key and salt (RFC 4106): 20 bytes, as hex."""
    return secrets.token_hex(20)


class TwoSites:
    def __init__(self, prefix="mpe", encapsulation="esp", peer_esn=False, qpairs=1, extra_b="", peer_a_identity=""):
        self.prefix = prefix
        self.extra_b = extra_b  # more policy for gateway B (services, authorization...)
        self.peer_a_identity = peer_a_identity  # gateway A's identity as B knows it
        self.qpairs = qpairs  # queue pairs per port: one per worker
        self.encapsulation = encapsulation
        self.peer_esn = peer_esn
        self.site_a, self.site_b = f"{prefix}-a", f"{prefix}-b"
        self.wan, self.peer = f"{prefix}-wan", f"{prefix}-peer"
        self.host_a, self.host_b, self.peer_ip = "10.1.0.2", "10.2.0.2", "192.0.2.9"
        self.gw_a_wan, self.gw_b_wan = "192.0.2.1", "192.0.2.2"
        # Root-side interfaces the gateways drive.
        self.if_a_lan, self.if_b_lan = f"{prefix}-la", f"{prefix}-lb"
        self.if_a_wan, self.if_b_wan = f"{prefix}-wa", f"{prefix}-wb"
        self.keys = {name: key_material() for name in ("ab", "ba", "peer_to_b", "b_to_peer")}
        self.dir = tempfile.mkdtemp(prefix=f"{prefix}-keys-")
        self.key_file_a = os.path.join(self.dir, "a-inbound.key")
        with open(os.open(self.key_file_a, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(self.keys["ba"] + "\n")

    def ns(self, ns, cmd, check=True, timeout=60):
        return sh(["ip", "netns", "exec", ns] + cmd, check=check, timeout=timeout)

    def fetch(self, ns, url, out, rate=None):
        """curl `url` from namespace `ns` into `out` (at `rate`, e.g. "400k"); the file's sha256."""
        args = ["curl", "-sS", "--max-time", "150", "-o", out, "-w", "%{http_code}", url]
        if rate:
            args[1:1] = ["--limit-rate", rate]
        r = self.ns(ns, args, check=False, timeout=180)
        assert r.returncode == 0 and r.stdout == "200", r.stderr
        with open(out, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def stream_both_ways(self, size, work):
        """`size` bytes from each site's server to the other site's host, saved under `work`: both sha256s."""
        return (self.fetch(self.site_a, f"http://{self.host_b}:8080/stream?bytes={size}", os.path.join(work, "at-a")),
                self.fetch(self.site_b, f"http://{self.host_a}:8080/stream?bytes={size}", os.path.join(work, "at-b")))

    def up(self):
        self.down()
        for ns in (self.site_a, self.site_b, self.wan, self.peer):
            sh(["ip", "netns", "add", ns])
            self.ns(ns, ["ip", "link", "set", "lo", "up"])
        self.ns(self.wan, ["ip", "link", "add", "br0", "type", "bridge"])
        self.ns(self.wan, ["ip", "link", "set", "br0", "up"])
        # Site hosts: one veth each, the gateway's end in the root namespace.
        for ns, gw_if, ip, gw in ((self.site_a, self.if_a_lan, "10.1.0.2/24", "10.1.0.1"),
                                  (self.site_b, self.if_b_lan, "10.2.0.2/24", "10.2.0.1")):
            self._veth(gw_if, f"{gw_if}h", ns, "eth0")
            self.ns(ns, ["ip", "addr", "add", ip, "dev", "eth0"])
            self.ns(ns, ["ip", "route", "add", "default", "via", gw])
            # Without this the kernel hands AF_PACKET frames with unfinished checksums.
            self.ns(ns, ["ethtool", "-K", "eth0", "tx", "off"])
        # The wide area: each gateway's WAN end and the scapy peer on the bridge.
        for gw_if in (self.if_a_wan, self.if_b_wan):
            self._veth(gw_if, f"{gw_if}w", self.wan, None)
        self._veth(None, f"{self.prefix}-pw", self.wan, None, inner=(self.peer, "eth0"))
        self.ns(self.peer, ["ip", "addr", "add", f"{self.peer_ip}/24", "dev", "eth0"])
        self.ns(self.peer, ["ethtool", "-K", "eth0", "tx", "off"])
        self.ns(self.peer, ["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"])
        return self

    def _veth(self, root_end, other_end, other_ns, rename, inner=None):
        """A veth pair: `root_end` stays in the root namespace for a gateway (or, with
        `inner`, goes into that namespace under that name); `other_end` goes into
        `other_ns` (renamed to `rename` there), or onto its bridge when `rename` is None."""
        first = root_end or f"{other_end}x"
        sh(["ip", "link", "add", first, "type", "veth", "peer", "name", other_end])
        sh(["ip", "link", "set", other_end, "netns", other_ns])
        if rename:
            self.ns(other_ns, ["ip", "link", "set", other_end, "name", rename])
            self.ns(other_ns, ["ip", "link", "set", rename, "up"])
        else:
            self.ns(other_ns, ["ip", "link", "set", other_end, "master", "br0", "up"])
        if inner:
            ns, name = inner
            sh(["ip", "link", "set", first, "netns", ns])
            self.ns(ns, ["ip", "link", "set", first, "name", name])
            self.ns(ns, ["ip", "link", "set", name, "up"])
        else:
            sh(["sysctl", "-qw", f"net.ipv6.conf.{first}.disable_ipv6=1"])
            sh(["ip", "link", "set", first, "up"])

    def down(self):
        for ns in (self.site_a, self.site_b, self.wan, self.peer):
            sh(["ip", "netns", "del", ns], check=False)
        for ifname in (self.if_a_lan, self.if_b_lan, self.if_a_wan, self.if_b_wan):
            sh(["ip", "link", "del", ifname], check=False)

    def _sa(self, direction, spi, key=None, key_file=None, esn=False):
        keying = f"key_file: {key_file}" if key_file else f"key: 0x{key}"
        return f"      - {{direction: {direction}, spi: {hex(spi)}, {keying}, esn: {str(esn).lower()}}}\n"

    def policy_a(self, sequence_file, extra=""):
        return f"""node: {self.prefix}-gateway-a
ports:
  - {{name: lan, device: "net_af_packet0,iface={self.if_a_lan},qpairs={self.qpairs}", addresses: [10.1.0.1/24]}}
  - {{name: wan, device: "net_af_packet1,iface={self.if_a_wan},qpairs={self.qpairs}", addresses: [{self.gw_a_wan}/24]}}
dataplane: {{mbufs: 4095}}
ipsec: {{sequence_file: {sequence_file}}}
peers:
  - name: site-b
    address: {self.gw_b_wan}
    local_address: {self.gw_a_wan}
    prefixes: [10.2.0.0/24]
    encapsulation: {self.encapsulation}
    tcp_mss: 1360
    sas:
{self._sa("outbound", SPI_AB, self.keys["ab"])}{self._sa("inbound", SPI_BA, key_file=self.key_file_a)}{extra}"""

    def policy_b(self, sequence_file):
        return f"""node: {self.prefix}-gateway-b
ports:
  - {{name: lan, device: "net_af_packet0,iface={self.if_b_lan},qpairs={self.qpairs}", addresses: [10.2.0.1/24]}}
  - {{name: wan, device: "net_af_packet1,iface={self.if_b_wan},qpairs={self.qpairs}", addresses: [{self.gw_b_wan}/24]}}
dataplane: {{mbufs: 4095}}
ipsec: {{sequence_file: {sequence_file}}}
peers:
  - name: site-a
    address: {self.gw_a_wan}
    local_address: {self.gw_b_wan}
    prefixes: [10.1.0.0/24]
    encapsulation: {self.encapsulation}
{f"    identity: {self.peer_a_identity}" + chr(10) if self.peer_a_identity else ""}    sas:
{self._sa("outbound", SPI_BA, self.keys["ba"])}{self._sa("inbound", SPI_AB, self.keys["ab"])}  - name: scapy
    address: {self.peer_ip}
    local_address: {self.gw_b_wan}
    prefixes: [10.9.0.0/24]
    encapsulation: {self.encapsulation}
    sas:
{self._sa("outbound", SPI_B_TO_PEER, self.keys["b_to_peer"], esn=self.peer_esn)}{self._sa("inbound", SPI_PEER_TO_B, self.keys["peer_to_b"], esn=self.peer_esn)}{self.extra_b}"""


def start_servers(t):
    """A self-naming server (HTTP 8080, UDP 7) on each site host."""
    servers = []
    for ns, name in ((t.site_a, "site-a"), (t.site_b, "site-b")):
        servers.append(subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", NAMED_SERVER, name,
                                         "--http=0.0.0.0:8080", "--udp=0.0.0.0:7"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        assert servers[-1].stdout.readline().strip() == "ready"
    return servers


@contextlib.contextmanager
def running(t, eal_args=None, policies=None):
    """Brings `t` up with a self-naming server on each site host (HTTP 8080,
    UDP 7) and both gateways started, with `policies` ({"a": f, "b": g}, each
    given its sequence file; default: t.policy_a and t.policy_b); yields
    (gateway A, gateway B); tears everything down."""
    t.up()
    state = tempfile.mkdtemp(prefix=f"{t.prefix}-state-")
    servers, gateways = [], []
    try:
        servers = start_servers(t)
        for side, policy in (policies or {"a": t.policy_a, "b": t.policy_b}).items():
            gateways.append(Daemon(policy(os.path.join(state, f"{side}.seq")), name=f"{t.prefix}-gw{side}",
                                   eal_args=eal_args).start())
        yield gateways[0], gateways[1]
    finally:
        for d in gateways:
            d.stop()
        for s in servers:
            s.kill()
            s.wait()
        t.down()
