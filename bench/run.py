#!/usr/bin/python3
"""The benchmark suite on one 2-core machine: meshplane's worker on one core,
the generator (bench/gen) on the other, memif between them, hugepages
reserved here, everything cleaned up afterwards.

    bench/run.py [--quick] [--only NAME ...]

Scenarios: the rig's ceiling (dpdk-testpmd io forwarding over the same
memif), L3 forwarding, load balancing (established flows 1 / 1k / 1M, new
flows), each at full rate (throughput, loss, worker cycles/packet) and the
L3 case also at a fixed rate for latency. Results go to bench/results/*.json
and replace the "Benchmark suite" section of docs/benchmarks.md."""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from results_doc import replace_section, save_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from testbed import lb_policy, service  # noqa: E402
BUILD = os.environ.get("MESHPLANE_BUILD", os.path.join(ROOT, "build"))
GEN = os.path.join(BUILD, "bench", "gen", "meshplane-gen")
MESHPLANE = os.path.join(BUILD, "ctrl", "meshplane")
MESHCTL = os.path.join(BUILD, "ctrl", "meshctl")
RESULTS = os.path.join(ROOT, "bench", "results")
# Names of one run's DPDK processes (file prefixes) and memif sockets; --instance
# sets them apart, so a run (the test suite's) can go on while another one does.
INSTANCE = ""
SOCKDIR = "/run/meshplane-bench"


def prefix(role):
    """The DPDK file prefix of this run's `role` (mptp, mpbench, mpgen)."""
    return f"{role}{INSTANCE}"
GEN_MAC_A, GEN_MAC_B = "02:00:00:00:99:01", "02:00:00:00:99:02"
DUT_MAC_A, DUT_MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, text=True, capture_output=True, **kw)


def kill_leftovers():
    """DPDK processes of an interrupted earlier run hold their file prefix."""
    for role in ("mptp", "mpbench", "mpgen"):
        subprocess.run(["pkill", "-f", f"file-prefix {prefix(role)} "], check=False)
    time.sleep(0.5)


def hugepages():
    """A run takes 1.5 GiB (DUT 1 GiB, generator 512 MiB): room for two at once."""
    with open("/proc/sys/vm/nr_hugepages") as f:
        if int(f.read()) < 2048:
            with open("/proc/sys/vm/nr_hugepages", "w") as w:
                w.write("2048")
    os.makedirs("/dev/hugepages", exist_ok=True)
    if subprocess.run(["mountpoint", "-q", "/dev/hugepages"]).returncode != 0:
        sh(["mount", "-t", "hugetlbfs", "nodev", "/dev/hugepages"])
    remove_hugepage_files()


def remove_hugepage_files():
    """DPDK leaves its hugepage map files behind: they would hold the memory."""
    if not os.path.isdir("/dev/hugepages"):
        return
    for name in os.listdir("/dev/hugepages"):
        if any(re.fullmatch(rf"{prefix(role)}map_\d+", name) for role in ("mpbench", "mpgen", "mptp")):
            os.unlink(os.path.join("/dev/hugepages", name))


def memif(i, role, name):
    return f"net_memif{i},role={role},socket={SOCKDIR}/{name}.sock,id=0"


def generator(args, label, dut=None):
    """Runs the generator against `dut`. A meshplane DUT detaches its ports
    before the generator leaves (DPDK's memif PMD unmaps a link's memory when
    its peer leaves, under any core still polling it: docs/operations.md) and
    attaches them again for the next run."""
    out = os.path.join(RESULTS, f"{label}.gen.json")  # RESULTS may be replaced by --results
    cmd = [GEN, "-l", "0", "--no-pci", "--file-prefix", prefix("mpgen"), "-m", "512", "--log-level", "lib.eal:warning",
           "--vdev", memif(0, "client", "a"), "--vdev", memif(1, "client", "b"), "--",
           "--tx-port", "0", "--rx-port", "1", "--src-mac", GEN_MAC_A, "--dst-mac", DUT_MAC_A, "--json", out] + args
    cooperative = dut is not None and dut.kind == "meshplane"
    proc = subprocess.Popen(cmd + (["--hold"] if cooperative else []), text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if cooperative:
            for line in proc.stdout:
                if line.strip() == "done":
                    break
            dut.ports("detach")
            proc.stdin.close()  # the generator leaves now
            proc.stdout.read()
            err = proc.stderr.read()
            proc.wait(60)
        else:
            _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if cooperative:
        dut.ports("attach")
    if proc.returncode != 0:
        raise RuntimeError(f"generator failed: {err[-2000:]}")
    with open(out) as f:
        return json.load(f)


class Dut:
    """The device under test, memif servers on sockets a and b."""

    def __init__(self, kind, policy=None):
        self.kind, self.dir = kind, tempfile.mkdtemp(prefix="mpbench-")
        self.stats = os.path.join(self.dir, "stats.json")
        if kind == "testpmd":
            cmd = ["dpdk-testpmd", "-l", "0,1", "--no-pci", "--file-prefix", prefix("mptp"), "-m", "1024",
                   "--log-level", "lib.eal:warning", "--vdev", memif(0, "server", "a"), "--vdev", memif(1, "server", "b"),
                   "--", "--forward-mode=io", "--auto-start", "--stats-period", "1"]
        else:
            cfg = os.path.join(self.dir, "policy.yaml")
            with open(cfg, "w") as f:
                f.write(policy)
            cmd = [MESHPLANE, "--lcores", "0@0,1@1", "--no-pci", "--file-prefix", prefix("mpbench"), "-m", "1024",
                   "--log-level", "lib.eal:warning", "--", "--config", cfg, "--stats-file", self.stats,
                   "--stats-interval", "0.5", "--run-dir", self.dir]
        self.log = open(os.path.join(self.dir, "dut.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
        # memif sockets are abstract by default (no file to wait for): wait for the DUT to say it runs.
        ready = "running:" if kind == "meshplane" else "packet forwarding - ports=2"
        deadline = time.time() + 30
        while ready not in open(self.log.name).read():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{kind} did not start: {open(self.log.name).read()[-2000:]}")
            time.sleep(0.1)
        time.sleep(0.5)

    def ports(self, action):
        for port in ("a", "b"):
            subprocess.run([MESHCTL, "--socket", os.path.join(self.dir, "meshplane.sock"), "ports", action, port],
                           check=True, capture_output=True, timeout=30)

    def worker_stats(self):
        if self.kind != "meshplane":
            return None
        time.sleep(1.2)
        with open(self.stats) as f:
            return json.load(f)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def meshplane_policy(services=""):
    return f"""ports:
  - name: a
    device: {memif(0, "server", "a")},mac={DUT_MAC_A}
    addresses: [10.1.255.254/16]
  - name: b
    device: {memif(1, "server", "b")},mac={DUT_MAC_B}
    addresses: [10.2.0.1/16]
routes:
  - {{prefix: 10.20.0.0/16, via: 10.2.0.2}}
neighbours:
  - {{address: 10.2.0.2, mac: {GEN_MAC_B}, port: b}}
{services}
dataplane: {{mbufs: 32767}}
"""


def pattern_set(n):
    """A set of n patterns shaped like bench/inspect_bench.cc's (paths, SQL, tokens,
    traversal), none of which occurs in the generator's payload."""
    shapes = ["/admin{}/", "select\\s+\\w+\\s+from\\s+t{}", "token=[a-f0-9]{{8}}-{}", "\\.\\./etc/{}[a-z]{{2,6}}"]
    lines = "".join(f"      - {{regex: '{shapes[i % 4].format(7919 * i % 100000)}', flags: [caseless], action: block}}\n"
                    for i in range(n))
    return f"""inspection: {{flows_per_worker: 65536}}
pattern_sets:
  - name: guard
    inspect_bytes: 65536
    directions: client
    patterns:
{lines}"""


def lb_services(capacity, inspect=False):
    eps = [f"10.2.0.{11 + i}" for i in range(16)]
    neighbours = "\n".join(f"  - {{address: 10.2.0.{11 + i}, mac: {GEN_MAC_B}, port: b}}" for i in range(16))
    nat = [f"10.2.1.{i}" for i in range(1, 9)]
    web = service("web", "10.30.0.10", eps, ports=[("udp", 80, 8080), ("tcp", 80, 8080)],
                  **({"inspect": "guard"} if inspect else {}))
    text = f"neighbours:\n{neighbours}" + lb_policy(web, flow_capacity=capacity, nat_addresses=nat)
    return text + (pattern_set(100) if inspect else "")


SCENARIOS = [
    # name, dut, policy ("l3": the L3 policy; None: the LB one for lb_*), generator arguments, description
    ("ceiling", "testpmd", None, ["--dst-ip", "10.20.0.1", "--flows", "1024"],
     "rig ceiling: dpdk-testpmd io forwarding, 1k flows"),
    ("l3", "meshplane", "l3", ["--dst-ip", "10.20.0.1", "--flows", "1024"],
     "L3 forwarding, 1k flows"),
    ("l3_latency", "meshplane", "l3", ["--dst-ip", "10.20.0.1", "--flows", "1024", "--rate", "1000000"],
     "L3 forwarding at 1 Mpps (latency)"),
    ("lb_est_1", "meshplane", None, ["--dst-ip", "10.30.0.10", "--flows", "1"], "LB full NAT, established, 1 flow"),
    ("lb_est_1k", "meshplane", None, ["--dst-ip", "10.30.0.10", "--flows", "1024"],
     "LB full NAT, established, 1k flows"),
    ("lb_est_1m", "meshplane", None, ["--dst-ip", "10.30.0.10", "--flows", "1000000", "--warmup", "2"],
     "LB full NAT, established, 1M flows"),
    ("lb_new", "meshplane", None, ["--dst-ip", "10.30.0.10", "--flows", "100000000", "--new-flows", "--warmup", "0",
                                   "--seconds", "1"], "LB full NAT, every packet a new flow"),
    ("lb_tcp_conn", "meshplane", None, ["--dst-ip", "10.30.0.10", "--proto", "tcp", "--size", "70", "--flows",
                                        "100000000", "--new-flows", "--packets-per-flow", "4", "--warmup", "0",
                                        "--seconds", "1"],
     "LB full NAT, TCP connections of 4 packets: SYN, 2 data, FIN (70-byte frames)"),
    ("lb_tcp_1400", "meshplane", None, ["--dst-ip", "10.30.0.10", "--proto", "tcp", "--size", "1400", "--flows",
                                        "100000000", "--new-flows", "--packets-per-flow", "8", "--warmup", "0",
                                        "--seconds", "1"],
     "LB full NAT, TCP connections of 8 packets of 1400 bytes (SYN, 6 data, FIN)"),
    ("lb_inspect_1400", "meshplane", "inspect", ["--dst-ip", "10.30.0.10", "--proto", "tcp", "--size", "1400",
                                                 "--flows", "100000000", "--new-flows", "--packets-per-flow", "8",
                                                 "--warmup", "0", "--seconds", "1"],
     "as lb_tcp_1400, every connection's payload inspected by 100 patterns"),
]


def policy_for(name, policy):
    """The DUT's policy, made when the scenario runs (it names this run's memif sockets)."""
    if policy == "l3":
        return meshplane_policy()
    if (policy is not None and policy != "inspect") or not name.startswith("lb"):
        return policy
    base = meshplane_policy()
    extra = lb_services(4_194_304, inspect=policy == "inspect")
    # Merge the endpoints' static neighbours into the one neighbours list.
    neigh = "\n".join(line for line in extra.splitlines() if line.startswith("  - {address: 10.2.0."))
    base = base.replace(f"  - {{address: 10.2.0.2, mac: {GEN_MAC_B}, port: b}}\n",
                        f"  - {{address: 10.2.0.2, mac: {GEN_MAC_B}, port: b}}\n{neigh}\n")
    rest = extra[extra.index("load_balancer:"):]
    return base + rest


def run(names, seconds):
    os.makedirs(RESULTS, exist_ok=True)
    os.makedirs(SOCKDIR, exist_ok=True)
    kill_leftovers()
    hugepages()
    results = []
    for name, kind, policy, args, what in SCENARIOS:
        if names and name not in names:
            continue
        dut = Dut(kind, policy_for(name, policy))
        try:
            gen_args = args if "--seconds" in args else args + ["--seconds", str(seconds)]
            g = generator(gen_args, name, dut)
            s = dut.worker_stats()
        finally:
            dut.stop()
        r = {"name": name, "what": what, "gen": g}
        if s:
            w = s["workers"][0]
            r["cycles_per_packet"] = w["cycles_per_packet"]
            r["drops"] = {k: v for k, v in s["drops"].items() if v}
            for ps in s.get("pattern_sets", []):  # what inspection did: connections, bytes scanned, ...
                r["inspection"] = {k: ps[k] for k in ("connections", "bytes", "completed", "gaps", "no_state")
                                   if k in ps}
        results.append(r)
        save_json(f"{name}.json", r, RESULTS)
        print(f"{name:12} {g['rx_mpps']:6.2f} Mpps, loss {g['loss_percent']:.3f}%, "
              f"p50 {g['latency_ns']['p50'] / 1000:.1f} us, cycles/pkt {r.get('cycles_per_packet', '-')}", flush=True)
    return results


def sweep(seconds):
    """L3 latency against offered load, the generator at each rate, one meshplane throughout."""
    points = []
    dut = Dut("meshplane", meshplane_policy())
    try:
        for rate in (250_000, 500_000, 1_000_000, 2_000_000, 3_000_000, 4_000_000, 5_000_000, 6_000_000, 0):
            g = generator(["--dst-ip", "10.20.0.1", "--flows", "1024", "--rate", str(rate), "--seconds",
                           str(seconds)], f"sweep_{rate}", dut)
            points.append({"offered_mpps": g["tx_mpps"], "rx_mpps": g["rx_mpps"], "latency_ns": g["latency_ns"],
                           "loss_percent": g["loss_percent"], "rate": rate})
            print(f"sweep {rate / 1e6 if rate else 'max':>4} Mpps: rx {g['rx_mpps']:.2f}, p50 "
                  f"{g['latency_ns']['p50'] / 1e3:.1f} us, p99 {g['latency_ns']['p99'] / 1e3:.1f} us", flush=True)
    finally:
        dut.stop()
    save_json("sweep.json", points, RESULTS)
    return points


def plots(results, points):
    """PNGs for docs/benchmarks.md (matplotlib from Debian's python3-matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    img = os.path.join(ROOT, "docs", "img")
    os.makedirs(img, exist_ok=True)
    by_name = {r["name"]: r for r in results}
    flows = [(1, "lb_est_1"), (1024, "lb_est_1k"), (1_000_000, "lb_est_1m")]
    xs = [n for n, k in flows if k in by_name]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(xs, [by_name[k]["gen"]["rx_mpps"] for n, k in flows if k in by_name], "o-", label="meshplane LB, full NAT")
    if "ceiling" in by_name:
        ax.axhline(by_name["ceiling"]["gen"]["rx_mpps"], color="grey", ls="--", label="rig ceiling (testpmd io)")
    ax.set_xscale("log")
    ax.set_xlabel("established flows")
    ax.set_ylabel("Mpps (64-byte frames)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(img, "throughput_vs_flows.png"), dpi=110)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ok = [p for p in points]
    ax.plot([p["rx_mpps"] for p in ok], [p["latency_ns"]["p50"] / 1e3 for p in ok], "o-", label="p50")
    ax.plot([p["rx_mpps"] for p in ok], [p["latency_ns"]["p99"] / 1e3 for p in ok], "s-", label="p99")
    ax.set_yscale("log")
    ax.set_xlabel("throughput, Mpps (offered load up to the maximum)")
    ax.set_ylabel("latency, us (generator to generator)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(img, "latency_vs_load.png"), dpi=110)


def table(results):
    ceiling = next((r["gen"]["rx_mpps"] for r in results if r["name"] == "ceiling"), None)
    lines = ["| scenario | Mpps (rx) | of ceiling | loss | worker cycles/packet | latency p50 / p99 / p99.9 (us) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        g = r["gen"]
        lat = g["latency_ns"]
        ratio = f"{g['rx_mpps'] / ceiling:.0%}" if ceiling else "-"
        cpp = f"{r['cycles_per_packet']:.0f}" if "cycles_per_packet" in r else "-"
        lines.append(f"| {r['what']} | {g['rx_mpps']:.2f} | {ratio} | {g['loss_percent']:.3f}% | {cpp} | "
                     f"{lat['p50'] / 1e3:.1f} / {lat['p99'] / 1e3:.1f} / {lat['p999'] / 1e3:.1f} |")
    return "\n".join(lines)


def sweep_row(p):
    offered = "max" if p["rate"] == 0 else f"{p['rate'] / 1e6:g} Mpps"
    lat = p["latency_ns"]
    return (f"| {offered} | {p['rx_mpps']:.2f} Mpps | {lat['p50'] / 1e3:.1f} us | {lat['p99'] / 1e3:.1f} us | "
            f"{lat['p999'] / 1e3:.1f} us | {p['loss_percent']:.3f}% |")


def update_doc(results, points, command):
    sweep_rows = "\n".join(sweep_row(p) for p in points)
    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    section = f"""## Benchmark suite over memif
`{command}`: {platform.node()}, {os.cpu_count()} CPUs ({cpu.group(1) if cpu else "?"}), kernel
{platform.release()}, 2 MB hugepages. The device under test's worker on CPU 1,
the generator (bench/gen, 60-byte frames = 64 on the wire, UDP) on CPU 0 with
the DUT's control thread; two memif links. Each scenario runs alone; loss and
latency come from the generator's stamps, cycles/packet from the worker's own
TSC accounting of busy polls (whole run, warm-up included; at a fixed low
rate a poll carries few packets, so its fixed cost counts against each).
Full rate means the generator sends as fast as it can: queues fill, so those
latencies are queueing delay; the 1 Mpps row shows the unloaded path. At full
rate the generator, which also receives on its one core, falls behind and the
DUT finds its memif tx ring full: that, not the DUT's packet path, is where the
small loss is counted (`tx_queue_full` below). This VM's numbers move between
runs by up to a third for the same build: compare rows within one run.
Per-scenario JSON: bench/results/.

{table(results)}

Drops seen by meshplane: {", ".join(f"{r['name']}: {r['drops']}" for r in results if r.get("drops")) or "none"}.

![throughput against established flows](img/throughput_vs_flows.png)

![L3 forwarding latency against load](img/latency_vs_load.png)

Latency against load (L3 forwarding, 1k flows; bench/results/sweep.json):

| offered | received | p50 | p99 | p99.9 | loss |
| --- | --- | --- | --- | --- | --- |
{sweep_rows}"""
    replace_section("suite", section, command)

def main():
    global RESULTS, INSTANCE, SOCKDIR
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", default=[])
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    p.add_argument("--results", default=RESULTS, help="directory for the JSON results")
    p.add_argument("--instance", default="", help="a name that sets this run's processes and sockets apart")
    a = p.parse_args()
    RESULTS = a.results
    if not re.fullmatch(r"[a-z0-9]*", a.instance):
        sys.exit("bench/run.py: --instance takes lower-case letters and digits")
    INSTANCE = a.instance
    SOCKDIR = f"/run/meshplane-bench{a.instance}"
    if os.geteuid() != 0:
        sys.exit("bench/run.py: run as root (hugepages, memif sockets)")
    try:
        results = run(a.only, a.seconds)
        if not a.only:
            points = sweep(min(a.seconds, 3))
            if not a.no_doc:  # the plots belong to the page
                plots(results, points)
                update_doc(results, points, "bench/run.py")
    finally:
        kill_leftovers()
        remove_hugepage_files()
    print(table(results))


if __name__ == "__main__":
    main()
