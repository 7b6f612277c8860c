#!/usr/bin/python3
"""What a load-balancing hop costs, with real TCP: the same client and three
nginx backends in network namespaces, and in the middle either
  - a plain kernel router to one backend ("direct": the path with no balancer),
  - the Linux kernel with nftables DNAT (random over three backends, masquerade),
  - HAProxy 2.6 in TCP mode (round robin),
  - meshplane (full NAT, Maglev, one worker on af_packet).
wrk measures requests per second and latency percentiles over kept-alive
connections (the per-request cost of the hop); `--close` sends
"Connection: close" so every request also pays a TCP handshake through it.

    bench/side_by_side.py [--seconds S] [--connections C] [--close]

Writes bench/results/side_by_side.json and replaces the "Side by side"
section of docs/benchmarks.md."""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from testbed import Daemon, Topology, lb_policy, service, sh  # noqa: E402

from results_doc import replace_section, save_json  # noqa: E402

VIP = "10.30.0.10"
BACKENDS = ["10.10.2.11", "10.10.2.12", "10.10.2.13"]


def nginx(topo):
    procs = []
    for ns, ip in zip(topo.backends, topo.backend_ips):
        d = tempfile.mkdtemp(prefix="mp-nginx-")
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d};
  uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{ listen {ip}:8080 reuseport; keepalive_requests 1000000;
    location / {{ return 200 "{ns}\\n"; }} }} }}
""")
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "nginx", "-c", conf, "-p", d],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)
    return procs


def wrk(topo, url, seconds, connections, close):
    cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    if close:
        cmd[1:1] = ["-H", "Connection: close"]
    out = topo.ns(topo.client, cmd, timeout=seconds + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def us(text):
        v, unit = re.match(r"([\d.]+)(\w+)", text).groups()
        return float(v) * {"us": 1, "ms": 1000, "s": 1e6}[unit]

    pct = {m.group(1): us(m.group(2)) for m in re.finditer(r"^\s+(50|90|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return {"rps": rps, "p50_us": pct["50"], "p90_us": pct["90"], "p99_us": pct["99"],
            "errors": errors.group(0) if errors else ""}


def kernel_router(topo):
    """Moves the gateway ends of the topology into a namespace that routes."""
    router = f"{topo.prefix}-router"
    sh(["ip", "netns", "add", router])
    for ifname, addr in ((topo.gw_client_if, "10.10.1.1/24"), (topo.gw_server_if, "10.10.2.1/24")):
        sh(["ip", "link", "set", ifname, "netns", router])
        topo.ns(router, ["ip", "addr", "add", addr, "dev", ifname])
        topo.ns(router, ["ip", "link", "set", ifname, "up"])
    topo.ns(router, ["ip", "link", "set", "lo", "up"])
    topo.ns(router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    return router


NFT = f"""table ip lb {{
  chain prerouting {{
    type nat hook prerouting priority dstnat;
    ip daddr {VIP} tcp dport 80 dnat to numgen random mod 3 map {{ 0 : {BACKENDS[0]}, 1 : {BACKENDS[1]}, 2 : {BACKENDS[2]} }} : 8080
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat;
    ip daddr 10.10.2.0/24 masquerade
  }}
}}
"""

HAPROXY = f"""global
  maxconn 8192
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend vip
  bind {VIP}:80
  default_backend web
backend web
  balance roundrobin
""" + "".join(f"  server b{i + 1} {ip}:8080\n" for i, ip in enumerate(BACKENDS))

MESHPLANE_SERVICES = lb_policy(service("web", VIP, BACKENDS), flow_capacity=262144)


def run(seconds, connections, close):
    results = {}
    # Kernel paths: direct, nftables, HAProxy.
    topo = Topology(prefix="mpsk", backends=3).up()
    servers = nginx(topo)
    try:
        router = kernel_router(topo)
        results["direct (kernel routing, no balancer)"] = wrk(topo, f"http://{BACKENDS[0]}:8080/", seconds,
                                                               connections, close)
        with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
            f.write(NFT)
        topo.ns(router, ["nft", "-f", f.name])
        results["Linux nftables DNAT"] = wrk(topo, f"http://{VIP}/", seconds, connections, close)
        topo.ns(router, ["nft", "flush", "ruleset"])
        topo.ns(router, ["ip", "addr", "add", f"{VIP}/32", "dev", "lo"])
        with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as f:
            f.write(HAPROXY)
        haproxy = subprocess.Popen(["ip", "netns", "exec", router, "haproxy", "-db", "-f", f.name],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        try:
            results["HAProxy 2.6, TCP mode"] = wrk(topo, f"http://{VIP}/", seconds, connections, close)
        finally:
            haproxy.kill()
            haproxy.wait()
    finally:
        for p in servers:
            p.kill()
        sh(["ip", "netns", "del", f"{topo.prefix}-router"], check=False)
        topo.down()
    # meshplane on the same kind of topology.
    topo = Topology(prefix="mpsm", backends=3).up()
    servers = nginx(topo)
    d = Daemon(topo.policy(MESHPLANE_SERVICES), name="side-by-side").start()
    try:
        topo.ns(topo.client, ["ping", "-c", "1", "-W", "2", topo.gw_client_ip], check=False)
        results["meshplane (1 worker, af_packet)"] = wrk(topo, f"http://{VIP}/", seconds, connections, close)
    finally:
        d.stop()
        for p in servers:
            p.kill()
        topo.down()
    return results


def markdown(results, command):
    base = results["direct (kernel routing, no balancer)"]
    lines = ["| path | requests/s | p50 | p90 | p99 | p50 added over direct |", "| --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['rps']:,.0f} | {r['p50_us']:.0f} us | {r['p90_us']:.0f} us | {r['p99_us']:.0f} us | "
                     f"{r['p50_us'] - base['p50_us']:+.0f} us |")
    return f"""## Side by side: what a hop costs (real TCP)
`{command}` on the VM above: wrk (1 thread) in a client namespace,
three nginx backends (one worker each) behind a bridge, and in the middle
the path named in the first column; everything shares the machine's 2 CPUs,
so compare the rows with each other rather than with other machines.
meshplane runs here on af_packet (the kernel's veth and packet sockets carry
every frame into and out of it), the way the end-to-end tests connect real
hosts; that transport, not the packet path, dominates its cost here, and its
busy-polling worker takes one of the two CPUs away from wrk and nginx. "direct"
goes to one backend, the balancers spread over three.

{chr(10).join(lines)}"""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--close", action="store_true", help="a new TCP connection per request")
    a = p.parse_args()
    results = run(a.seconds, a.connections, a.close)
    for name, r in results.items():
        print(f"{name:40} {r['rps']:10,.0f} req/s  p50 {r['p50_us']:.0f} us  p99 {r['p99_us']:.0f} us {r['errors']}")
    command = "bench/side_by_side.py" + (" --close" if a.close else "")
    save_json("side_by_side.json", results)
    replace_section("side-by-side", markdown(results, command), command)

if __name__ == "__main__":
    main()
