"""A meshplane gateway and a strongSwan gateway keyed by IKEv2, each guarding a site:

    site-a ns (10.1.0.2/24) -- [lan 10.1.0.1] meshplane [wan 192.0.2.1] --+
                                                                          wan ns: bridge br0 (captures here)
    site-b ns (10.2.0.2/24) -- [10.2.0.1] peer ns: charon [192.0.2.9] ----+

TwoSites's namespaces, with site B moved behind charon (its userspace ESP
over a TUN device, so IP forwarding in the peer namespace carries site B's
traffic into the tunnel). Certificates from one test CA (testbed/pki.py):
meshplane is gw-a.example / spiffe://mesh.example/gateway/gw-a (ECDSA),
charon gw-b.example / spiffe://mesh.example/gateway/gw-b (Ed25519)."""
import json
import os
import time

from testbed.daemon import Daemon
from testbed.paths import sh
from testbed.pki import ED25519, P256, make_ca, make_cert
from testbed.strongswan import Charon
from testbed.tunnel import TwoSites

GW_A = "spiffe://mesh.example/gateway/gw-a"
GW_B = "spiffe://mesh.example/gateway/gw-b"


def make_pki(d):
    """The CA, both gateways' certificates, and two that must be refused: one
    naming another gateway, one from another CA."""
    ca, other = make_ca(d, "mesh-ca"), make_ca(d, "other-ca")
    return {"ca": f"{ca}.crt",
            "a": make_cert(d, "gw-a", P256, ca, f"DNS:gw-a.example, URI:{GW_A}"),
            "b": make_cert(d, "gw-b", ED25519, ca, f"DNS:gw-b.example, URI:{GW_B}"),
            "b-other-identity": make_cert(d, "gw-c", ED25519, ca,
                                          "DNS:gw-b.example, URI:spiffe://mesh.example/gateway/gw-c"),
            "b-other-ca": make_cert(d, "gw-b-rogue", ED25519, other, f"DNS:gw-b.example, URI:{GW_B}")}


class CharonSites(TwoSites):
    def __init__(self, prefix="mpk"):
        super().__init__(prefix=prefix, encapsulation="udp")
        self.charon_ip = self.public_ip = self.peer_ip  # charon's own address, and where meshplane finds it

    def up(self):
        super().up()
        # Site B's gateway end goes from the root namespace into charon's.
        sh(["ip", "link", "set", self.if_b_lan, "netns", self.peer])
        self.ns(self.peer, ["ip", "addr", "add", "10.2.0.1/24", "dev", self.if_b_lan])
        self.ns(self.peer, ["ip", "link", "set", self.if_b_lan, "up"])
        self.ns(self.peer, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        return self

    def meshplane_policy(self, pki, sequence_file, initiate=True, child_rekey=3600, ike_rekey=14400):
        cert, key = pki["a"]
        return f"""node: {self.prefix}-gateway-a
ports:
  - {{name: lan, device: "net_af_packet0,iface={self.if_a_lan}", addresses: [10.1.0.1/24]}}
  - {{name: wan, device: "net_af_packet1,iface={self.if_a_wan}", addresses: [{self.gw_a_wan}/24]}}
dataplane: {{mbufs: 4095}}
ipsec: {{sequence_file: {sequence_file}}}
ike:
  certificate: {cert}
  key: {key}
  ca: {pki["ca"]}
  child_rekey_seconds: {child_rekey}
  ike_rekey_seconds: {ike_rekey}
  liveness_seconds: 2
  retransmits: 3
peers:
  - name: site-b
    address: {self.public_ip}
    local_address: {self.gw_a_wan}
    prefixes: [10.2.0.0/24]
    tcp_mss: 1300
    identity: {GW_B}
    ike: {{initiate: {str(initiate).lower()}}}
"""

    def charon_conf(self, cert, start_action="none", child_rekey="1h", ike_rekey="4h"):
        """charon's side: its certificate `cert`, UDP encapsulation (its userspace ESP speaks nothing
        else), PFS on rekeys, liveness checks every 2 s."""
        return f"""connections {{
  gw {{
    local_addrs = {self.charon_ip}
    remote_addrs = {self.gw_a_wan}
    proposals = aes128gcm16-prfsha256-x25519
    encap = yes
    send_cert = always
    dpd_delay = 2s
    rekey_time = {ike_rekey}
    local {{
      auth = pubkey
      certs = {os.path.basename(cert)}
      id = gw-b.example
    }}
    remote {{
      auth = pubkey
      id = gw-a.example
    }}
    children {{
      net {{
        local_ts = 10.2.0.0/24
        remote_ts = 10.1.0.0/24
        esp_proposals = aes128gcm16-x25519
        rekey_time = {child_rekey}
        start_action = {start_action}
        dpd_action = restart
      }}
    }}
  }}
}}
"""

    def charon(self, workdir, pki, which="b", **conf):
        cert, key = pki[which]
        return Charon(self.peer, workdir, self.charon_conf(cert, **conf),
                      credentials={"x509": [cert], "pkcs8": [key], "x509ca": [pki["ca"]]},
                      log_levels="ike = 2\n      cfg = 2\n      chd = 2")

class NattedCharonSites(CharonSites):
    """CharonSites with charon behind a NAT: charon at 10.99.0.2 in the peer
    namespace, and a NAT namespace holding 192.0.2.9 on the bridge that
    masquerades charon's IKE and ESP to ports 40000-40999, so meshplane sees
    the peer at 192.0.2.9 with another port than 4500."""

    def __init__(self, prefix="mpkn"):
        super().__init__(prefix=prefix)
        self.nat = f"{prefix}-nat"
        self.charon_ip = "10.99.0.2"

    def up(self):
        super().up()
        sh(["ip", "netns", "add", self.nat])
        self.ns(self.nat, ["ip", "link", "set", "lo", "up"])
        # The peer namespace's link to the bridge becomes the NAT's outside.
        sh(["ip", "-n", self.peer, "link", "set", "eth0", "netns", self.nat])
        self.ns(self.nat, ["ip", "addr", "add", f"{self.public_ip}/24", "dev", "eth0"])
        self.ns(self.nat, ["ip", "link", "set", "eth0", "up"])
        self.ns(self.nat, ["ethtool", "-K", "eth0", "tx", "off"])
        sh(["ip", "link", "add", f"{self.prefix}-ni", "netns", self.nat, "type", "veth", "peer", "name", "eth0",
            "netns", self.peer])
        self.ns(self.nat, ["ip", "addr", "add", "10.99.0.1/24", "dev", f"{self.prefix}-ni"])
        self.ns(self.nat, ["ip", "link", "set", f"{self.prefix}-ni", "up"])
        self.ns(self.peer, ["ip", "addr", "add", f"{self.charon_ip}/24", "dev", "eth0"])
        self.ns(self.peer, ["ip", "link", "set", "eth0", "up"])
        self.ns(self.peer, ["ethtool", "-K", "eth0", "tx", "off"])
        self.ns(self.peer, ["ip", "route", "add", "default", "via", "10.99.0.1"])
        self.ns(self.nat, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        sh(["ip", "netns", "exec", self.nat, "nft", "-f", "-"], input="""table ip nat {
  chain post {
    type nat hook postrouting priority srcnat;
    oifname "eth0" udp dport { 500, 4500 } masquerade to :40000-40999
  }
}
""")
        return self

    def down(self):
        sh(["ip", "netns", "del", self.nat], check=False)
        super().down()


def meshplane_pair_policy(t, pki, side, sequence_file, initiate=True):
    """Gateway `side` ("a" or "b") of TwoSites `t` keyed by IKE with the other: plain ESP, no NAT between them."""
    me, other = ("a", "b") if side == "a" else ("b", "a")
    lan = "10.1.0.1/24" if side == "a" else "10.2.0.1/24"
    lan_if, wan_if = (t.if_a_lan, t.if_a_wan) if side == "a" else (t.if_b_lan, t.if_b_wan)
    wan, peer_wan = (t.gw_a_wan, t.gw_b_wan) if side == "a" else (t.gw_b_wan, t.gw_a_wan)
    cert, key = pki[me]
    return f"""node: {t.prefix}-gateway-{me}
ports:
  - {{name: lan, device: "net_af_packet0,iface={lan_if}", addresses: [{lan}]}}
  - {{name: wan, device: "net_af_packet1,iface={wan_if}", addresses: [{wan}/24]}}
dataplane: {{mbufs: 4095}}
ipsec: {{sequence_file: {sequence_file}}}
ike: {{certificate: {cert}, key: {key}, ca: {pki["ca"]}, liveness_seconds: 2, retransmits: 3}}
api: {{metrics: 127.0.0.1:0}}
peers:
  - name: site-{other}
    address: {peer_wan}
    local_address: {wan}
    prefixes: [10.{2 if side == "a" else 1}.0.0/24]
    tcp_mss: 1360
    identity: spiffe://mesh.example/gateway/gw-{other}
    ike: {{initiate: {str(initiate).lower()}}}
"""


def ike_peers(daemon):
    return json.loads(daemon.meshctl("-o", "json", "get", "ike", check=True).stdout)


def wait_established(daemon, timeout=30):
    """The peer's state once established (with at least one Child SA)."""
    deadline = time.time() + timeout
    while True:
        peers = ike_peers(daemon)
        if peers and peers[0]["state"] == "established" and peers[0].get("child_sas"):
            return peers[0]
        if time.time() > deadline:
            raise TimeoutError(f"not established: {peers}\n{daemon.log_text()[-3000:]}")
        time.sleep(0.1)


def start_meshplane(t, pki, state_dir, **policy):
    return Daemon(t.meshplane_policy(pki, os.path.join(state_dir, "a.seq"), **policy), name=f"{t.prefix}-gwa").start()
