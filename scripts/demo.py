#!/usr/bin/python3
"""The built-in demo: a client host and a server host in network namespaces,
joined through meshplane (veth + net_af_packet). Real kernel traffic crosses
it (ARP, ping, traceroute-style TTL expiry, an HTTP download checked end to
end, hundreds of connections load-balanced over three backends, an access
rule refusing a direct connection to a backend while the VIP serves, a
request for /admin reset by payload matching while / is answered), then the
gateway's counters are printed; then two sites, each behind its own
meshplane, talk through an ESP tunnel while tshark watches the link between
the gateways. Everything is cleaned up."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root
from testbed import Daemon, Topology, lb_policy, service  # noqa: E402
from testbed.tunnel import TwoSites, running  # noqa: E402
from testbed.wire import capture  # noqa: E402

SERVICES = lb_policy(service("web", "10.30.0.10", ["10.10.2.11", "10.10.2.12", "10.10.2.13"], inspect="http-guard"))
# Payload matching on the service's connections: the request line, across segments.
PATTERNS = """pattern_sets:
  - name: http-guard
    inspect_bytes: 4096
    patterns:
      - {name: admin-path, regex: '^(GET|POST) /admin', action: block}
      - {name: curl, literal: 'User-Agent: curl/', flags: [caseless], action: tag, tag: curl}
"""
# The backends (10.10.2.8/29) answer clients only through the VIP.
ACCESS = """access:
  rules:
    - {name: backends-only-via-vip, action: reject, protocol: tcp, source: 10.10.1.0/24, destination: 10.10.2.8/29}
"""


def step(title):
    print(f"\n== {title}", flush=True)


def show(result):
    text = (result.stdout + result.stderr).strip()
    print("   " + text.replace("\n", "\n   "), flush=True)
    return result


def tunnel_demo():
    """Two sites, each behind its own meshplane, talking through an ESP tunnel (AES-GCM)."""
    sites = TwoSites(prefix="mpdemo-t")
    state = tempfile.mkdtemp(prefix="meshplane-demo-esp-")
    step("encryption: site A 10.1.0.2 -> [gateway A] == ESP over 192.0.2.0/24 ==> [gateway B] -> site B 10.2.0.2")
    try:
        with running(sites) as (gateway_a, _):
            pcap = os.path.join(state, "wan.pcapng")
            cap = capture(sites.wan, "br0", pcap)
            r = sites.ns(sites.site_a, ["curl", "-sS", "-o", "/dev/null", "-w",
                                        "HTTP %{http_code}, %{size_download} bytes in %{time_total} s",
                                        f"http://{sites.host_b}:8080/stream?bytes=8000000"], check=False, timeout=120)
            show(r)
            cap.terminate()
            cap.wait(10)
            count = lambda f: len(subprocess.run(["tshark", "-r", pcap, "-Y", f, "-T", "fields", "-e", "frame.number"],
                                                 capture_output=True, text=True).stdout.split())
            esp, plain = count("esp"), count("ip and not esp")
            print(f"   on the wide-area link: {esp} ESP packets, {plain} other IP packets")
            step("meshctl get sas on gateway A")
            show(gateway_a.meshctl("get", "sas"))
            return r.returncode == 0 and r.stdout.startswith("HTTP 200") and esp > 1000 and plain == 0
    finally:
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(sites.dir, ignore_errors=True)


def main():
    topo = Topology(prefix="mpdemo", backends=3)
    gateway = None
    server = None
    backends = []
    webroot = tempfile.mkdtemp(prefix="meshplane-demo-")
    try:
        step("topology: client 10.10.1.2 -> [10.10.1.1 meshplane 10.10.2.1] -> server 10.10.2.2 (+10.20.0.1 behind it)")
        topo.up()
        gateway = Daemon(topo.policy(SERVICES + ACCESS + PATTERNS), name="demo").start()
        print(f"   meshplane pid {gateway.proc.pid}, policy {gateway.config}")

        step("ping the gateway, then the server through it (TTL 64 -> 63: one routed hop)")
        show(topo.ns(topo.client, ["ping", "-c", "2", "-i", "0.2", topo.gw_client_ip], check=False))
        show(topo.ns(topo.client, ["ping", "-c", "3", "-i", "0.2", topo.server_ip], check=False))

        step("ARP: the client's neighbour entry for its gateway is meshplane's port MAC")
        show(topo.ns(topo.client, ["ip", "neigh", "show", topo.gw_client_ip]))

        step("a static route: 10.20.0.0/16 via the server")
        show(topo.ns(topo.client, ["ping", "-c", "2", "-i", "0.2", topo.server_loopback_ip], check=False))

        step("TTL 1: meshplane answers with ICMP time exceeded")
        show(topo.ns(topo.client, ["ping", "-c", "1", "-t", "1", "-W", "1", topo.server_ip], check=False))

        step("HTTP: curl downloads 16 MB from a real server through the gateway")
        blob = os.urandom(16 * 1024 * 1024)
        with open(os.path.join(webroot, "blob.bin"), "wb") as f:
            f.write(blob)
        server = topo.http_server(webroot)
        out = os.path.join(webroot, "got.bin")
        r = topo.fetch(f"http://{topo.server_ip}:8080/blob.bin", out,
                       "HTTP %{http_code}, %{size_download} bytes in %{time_total} s (%{speed_download} bytes/s)")
        show(r)
        with open(out, "rb") as f:
            same = hashlib.sha256(f.read()).digest() == hashlib.sha256(blob).digest()
        print(f"   sha256 of the download {'matches' if same else 'DOES NOT MATCH'} the served file")

        step("load balancing: 300 connections to VIP 10.30.0.10:80, three backends (b1-b3) behind full NAT")
        backends = topo.named_servers()
        answers, errors = topo.lb_client("http", "10.30.0.10", 80, 300, parallel=16)
        print(f"   answered by: {dict(sorted(answers.items()))}, errors: {len(errors)}")
        balanced = not errors and sum(answers.values()) == 300 and len(answers) == 3

        step("access rules: a direct connection to backend b1 is refused by the gateway; the VIP still serves")
        direct, refused = topo.lb_client("http", "10.10.2.11", 8080, 1)
        print(f"   direct to 10.10.2.11:8080: {refused[0] if refused else direct}")
        show(gateway.meshctl("explain", "--from", topo.client_ip, "--to", "10.10.2.11", "--port", "8080"))
        show(gateway.meshctl("get", "policies"))
        denied = not direct and len(refused) == 1 and "ConnectionRefused" in refused[0]

        step("payload matching: GET /admin through the VIP is reset by the gateway (Hyperscan); GET / is answered")
        vip = "http://10.30.0.10"
        admin = topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", f"{vip}/admin"], check=False)
        home = topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", f"{vip}/"], check=False)
        print(f"   /admin: curl exit {admin.returncode} ({admin.stderr.strip()}); /: {home.stdout.strip()}")
        show(gateway.meshctl("get", "patterns"))
        inspected = admin.returncode == 56 and home.returncode == 0

        step("meshplane's counters (SIGTERM: workers stop, ports close, final counters printed)")
        gateway.stop()
        print("   " + gateway.output().strip().replace("\n", "\n   "))
        encrypted = tunnel_demo()
        ok = same and balanced and denied and inspected and encrypted and gateway.proc.returncode == 0
        print(f"\ndemo {'succeeded' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        if server:
            server.kill()
        for b in backends:
            b.kill()
        if gateway:
            gateway.stop()
        topo.down()
        shutil.rmtree(webroot, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
