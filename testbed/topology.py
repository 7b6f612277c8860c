"""Real hosts in network namespaces joined through a real meshplane daemon.

Used by the end-to-end tests, the demo (scripts/demo.py) and the side-by-side
benchmark, so all run the same topology:

    client ns (10.10.1.2/24) --veth-- [port client 10.10.1.1] meshplane
    server ns (10.10.2.2/24, 10.20.0.1/32 on lo) --veth-- [port server 10.10.2.1]

With backends, namespaces b1..bN (10.10.2.11..) sit on a bridge in the server
namespace, on the server subnet.
"""
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import time

from testbed.paths import IPIP_DECAP, LB_CLIENT, NAMED_SERVER, sh
from testbed.wire import stream_digest


class Topology:
    def __init__(self, prefix="mpt", backends=0):
        self.prefix = prefix
        # Backends (load balancing): namespaces b1..bN at 10.10.2.11.., on a
        # bridge inside the server namespace, so they share the server subnet.
        self.backends = [f"{prefix}-b{i + 1}" for i in range(backends)]
        self.backend_ips = [f"10.10.2.{11 + i}" for i in range(backends)]
        self.client = f"{prefix}-client"
        self.server = f"{prefix}-server"
        self.gw_client_if = f"{prefix}-dp0"
        self.gw_server_if = f"{prefix}-dp1"
        self.client_if = f"{prefix}-c0"
        self.server_if = f"{prefix}-s0"
        self.client_ip, self.server_ip = "10.10.1.2", "10.10.2.2"
        self.gw_client_ip, self.gw_server_ip = "10.10.1.1", "10.10.2.1"
        self.server_loopback_ip = "10.20.0.1"

    def up(self):
        self.down()
        for ns, gw_if, host_if, ip, gw in (
            (self.client, self.gw_client_if, self.client_if, "10.10.1.2/24", self.gw_client_ip),
            (self.server, self.gw_server_if, self.server_if, "10.10.2.2/24", self.gw_server_ip),
        ):
            sh(["ip", "netns", "add", ns])
            sh(["ip", "link", "add", gw_if, "type", "veth", "peer", "name", host_if])
            sh(["ip", "link", "set", host_if, "netns", ns])
            # The gateway side belongs to meshplane: no kernel IPv6 chatter on it.
            sh(["sysctl", "-qw", f"net.ipv6.conf.{gw_if}.disable_ipv6=1"])
            sh(["ip", "link", "set", gw_if, "up"])
            self.ns(ns, ["ip", "link", "set", "lo", "up"])
            self.ns(ns, ["ip", "addr", "add", ip, "dev", host_if])
            self.ns(ns, ["ip", "link", "set", host_if, "up"])
            self.ns(ns, ["ip", "route", "add", "default", "via", gw])
            # Without this the kernel hands AF_PACKET frames with unfinished checksums.
            self.ns(ns, ["ethtool", "-K", host_if, "tx", "off"])
        self.ns(self.server, ["ip", "addr", "add", f"{self.server_loopback_ip}/32", "dev", "lo"])
        if self.backends:
            self._bridge_backends()
        return self

    def _bridge_backends(self):
        self.ns(self.server, ["ip", "link", "add", "br0", "type", "bridge"])
        self.ns(self.server, ["ip", "addr", "del", "10.10.2.2/24", "dev", self.server_if])
        self.ns(self.server, ["ip", "link", "set", self.server_if, "master", "br0"])
        self.ns(self.server, ["ip", "addr", "add", "10.10.2.2/24", "dev", "br0"])
        self.ns(self.server, ["ip", "link", "set", "br0", "up"])
        self.ns(self.server, ["ip", "route", "replace", "default", "via", self.gw_server_ip])
        for i, (ns, ip) in enumerate(zip(self.backends, self.backend_ips)):
            sh(["ip", "netns", "add", ns])
            inner = f"{self.prefix}-be{i + 1}"
            sh(["ip", "link", "add", f"{self.prefix}-bh{i + 1}", "type", "veth", "peer", "name", inner])
            sh(["ip", "link", "set", inner, "netns", ns])
            self.ns(ns, ["ip", "link", "set", inner, "name", "eth0"])
            sh(["ip", "link", "set", f"{self.prefix}-bh{i + 1}", "netns", self.server])
            self.ns(self.server, ["ip", "link", "set", f"{self.prefix}-bh{i + 1}", "master", "br0", "up"])
            for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{ip}/24", "dev", "eth0"],
                        ["ip", "link", "set", "eth0", "up"],
                        ["ip", "route", "add", "default", "via", self.gw_server_ip],
                        ["ethtool", "-K", "eth0", "tx", "off"],
                        ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"],
                        ["sysctl", "-qw", "net.ipv4.conf.default.rp_filter=0"]):
                self.ns(ns, cmd)

    def direct_return(self, backend, vip):
        """Makes a backend a direct-return endpoint: the VIP on lo, and an
        IP-in-IP tunnel end (ipip_decap.py feeding TUN device ipip0). kill() the result."""
        self.ns(backend, ["ip", "addr", "add", f"{vip}/32", "dev", "lo"])
        proc = subprocess.Popen(["ip", "netns", "exec", backend, "/usr/bin/python3", IPIP_DECAP, "ipip0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout.readline().strip() == "ready"
        self.ns(backend, ["ip", "link", "set", "ipip0", "up"])
        return proc

    def tunnel_rx_packets(self, backend):
        return int(self.ns(backend, ["cat", "/sys/class/net/ipip0/statistics/rx_packets"]).stdout)

    def named_servers(self, http_ports=(8080,), udp_ports=()):
        """A self-naming HTTP/UDP server on every backend; kill() them when done."""
        procs = []
        for ns, ip in zip(self.backends, self.backend_ips):
            args = [f"--http=0.0.0.0:{p}" for p in http_ports] + [f"--udp=0.0.0.0:{p}" for p in udp_ports]
            procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", NAMED_SERVER,
                                           ns.split("-")[-1]] + args,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        return procs

    def helper(self, i, script, *args):
        """Helper program `script` (testbed/helpers) on backend i, once it prints "ready"; kill() it when done."""
        p = subprocess.Popen(["ip", "netns", "exec", self.backends[i], "/usr/bin/python3", script, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert p.stdout.readline().strip() == "ready"
        return p

    def lb_client(self, kind, vip, port, count, parallel=8, timeout=120, source_port=0):
        """Opens `count` connections (or UDP sockets) to vip:port from the client; {backend: answers}, errors.
        With source_port, connection i comes from source port source_port + i."""
        r = self.ns(self.client, ["/usr/bin/python3", LB_CLIENT, kind, vip, str(port), str(count),
                                  "--parallel", str(parallel), "--source-port", str(source_port)], timeout=timeout)
        out = json.loads(r.stdout)
        return out["answers"], out["errors"]

    def down(self):
        for ns in [self.client, self.server] + self.backends:
            pids = sh(["ip", "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            sh(["ip", "netns", "del", ns], check=False)
        for ifname in (self.gw_client_if, self.gw_server_if):
            sh(["ip", "link", "del", ifname], check=False)

    def ns(self, ns, cmd, check=True, timeout=60):
        return sh(["ip", "netns", "exec", ns] + cmd, check=check, timeout=timeout)

    def http_server(self, webroot, port=8080):
        """A real HTTP server (Python's) on the server host; kill() it when done."""
        return subprocess.Popen(["ip", "netns", "exec", self.server, "/usr/bin/python3", "-m", "http.server",
                                 str(port), "--bind", self.server_ip, "--directory", webroot],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def fetch(self, url, out, write_out="%{http_code}"):
        """curl from the client host, retrying while the server is not listening yet."""
        for _ in range(50):
            r = self.ns(self.client, ["curl", "-sS", "-o", out, "-w", write_out, "--max-time", "60", url], check=False)
            if r.returncode != 7:  # 7: connection refused
                return r
            time.sleep(0.1)
        return r

    def mac(self, ifname):
        return sh(["cat", f"/sys/class/net/{ifname}/address"]).stdout.strip()

    def policy(self, extra="", qpairs=1):
        return f"""node: {self.prefix}-gateway
ports:
  - name: client
    device: net_af_packet0,iface={self.gw_client_if},qpairs={qpairs}
    addresses: [{self.gw_client_ip}/24]
  - name: server
    device: net_af_packet1,iface={self.gw_server_if},qpairs={qpairs}
    addresses: [{self.gw_server_ip}/24]
routes:
  - prefix: 10.20.0.0/16
    via: {self.server_ip}
icmp:
  errors_per_second: 1000
  errors_burst: 100
dataplane:
  mbufs: 4095
{extra}"""


class SlowDownload:
    """A long curl from the client host (named_server.py's /stream: `size`
    bytes at `rate` bytes/s), in the background."""

    def __init__(self, topo, host, size=6_000_000, rate=1_500_000, max_time=30):
        self.size = size
        self.dir = tempfile.mkdtemp(prefix="mp-dl-")
        self.body, self.headers = os.path.join(self.dir, "body"), os.path.join(self.dir, "headers")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", topo.client, "curl", "-sS", "--max-time", str(max_time), "-D", self.headers,
             "-o", self.body, f"http://{host}/stream?bytes={size}&rate={rate}"],
            stderr=subprocess.PIPE, text=True)

    def backend(self, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.headers):
                for line in open(self.headers):
                    if line.lower().startswith("x-backend:"):
                        return line.split(":", 1)[1].strip()
            time.sleep(0.05)
        raise TimeoutError("no response headers")

    def wait_bytes(self, n, timeout=20):
        """Returns once at least n bytes of the body have arrived."""
        deadline = time.time() + timeout
        while not (os.path.exists(self.body) and os.path.getsize(self.body) >= n):
            if time.time() > deadline or self.proc.poll() is not None:
                raise TimeoutError(f"fewer than {n} bytes arrived")
            time.sleep(0.05)

    def finish(self):
        """(curl's exit code, sha256 of what arrived, curl's stderr)"""
        rc = self.proc.wait(60)
        with open(self.body, "rb") as f:
            return rc, hashlib.sha256(f.read()).hexdigest(), self.proc.stderr.read()

    def expected_digest(self):
        return stream_digest(self.size)
