"""Real hosts in network namespaces joined through a real meshplane daemon.

Used by the end-to-end tests and by the demo (scripts/demo.py), so both run
the same topology:

    client ns (10.10.1.2/24) --veth-- [port client 10.10.1.1] meshplane
    server ns (10.10.2.2/24, 10.20.0.1/32 on lo) --veth-- [port server 10.10.2.1]
"""
import json
import os
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("MESHPLANE_BUILD", os.path.join(ROOT, "build"))
MESHPLANE = os.path.join(BUILD, "ctrl", "meshplane")
# No hugepages, no PCI, no shared runtime files: tests never depend on system set-up.
# Shared by every test daemon so the per-port locks are exercised for real.
RUN_DIR = "/run/meshplane-test"
EAL_ARGS = ["-l", "0,1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--log-level", "lib.eal:warning"]


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=check, text=True, capture_output=True, **kw)


class Topology:
    def __init__(self, prefix="mpt"):
        self.prefix = prefix
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
        return self

    def down(self):
        for ns in (self.client, self.server):
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


class Daemon:
    """A meshplane process with its policy, log and stats file in a temp dir."""

    def __init__(self, policy_text, name="meshplane", eal_args=None):
        self.eal_args = eal_args or EAL_ARGS
        self.dir = tempfile.mkdtemp(prefix=f"{name}-")
        self.config = os.path.join(self.dir, "policy.yaml")
        self.stats_file = os.path.join(self.dir, "stats.json")
        self.log = os.path.join(self.dir, "meshplane.log")
        self.out = os.path.join(self.dir, "meshplane.out")
        self.write_policy(policy_text)
        self.proc = None

    def write_policy(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def command(self):
        return [MESHPLANE] + self.eal_args + ["--", "--config", self.config, "--stats-file", self.stats_file,
                                         "--stats-interval", "0.1", "--run-dir", RUN_DIR]

    def start(self, wait=True):
        cmd = self.command()
        self.proc = subprocess.Popen(cmd, stdout=open(self.out, "w"), stderr=open(self.log, "w"))
        if wait:
            self.wait_log("running:", 20)
            self.wait_for(lambda s: True, 5)
        return self

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def wait_log(self, needle, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.log_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"meshplane exited with {self.proc.returncode}:\n{self.log_text()}")
            time.sleep(0.05)
        raise TimeoutError(f"'{needle}' not in meshplane log after {timeout}s:\n{self.log_text()}")

    def stats(self):
        for _ in range(50):
            try:
                with open(self.stats_file) as f:
                    return json.load(f)
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(0.05)
        raise RuntimeError("no stats file")

    def wait_for(self, predicate, timeout=5.0):
        """Polls the stats file until predicate(stats) holds; returns the stats."""
        deadline = time.time() + timeout
        while True:
            s = self.stats() if os.path.exists(self.stats_file) else None
            if s is not None and predicate(s):
                return s
            if time.time() > deadline:
                raise TimeoutError(f"condition not met; last stats: {json.dumps(s)[:2000]}")
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def output(self):
        with open(self.out) as f:
            return f.read()
