#!/usr/bin/python3
"""Instructions per packet of the packet path, per scenario, under
valgrind --tool=callgrind with collection switched on only inside
pipeline_process: deterministic, so a regression shows even on a noisy
machine. Scenarios run in-process on real mbufs (bench/pipeline_bench,
bench/lb_bench); established-flow numbers are taken by difference so the
set-up packets do not count.

    bench/instructions.py        (prints, and replaces the section in docs/benchmarks.md)"""
import os
import re
import subprocess
import tempfile

from results_doc import replace_section, save_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MESHPLANE_BUILD", os.path.join(ROOT, "build"))
BURST = 32


def instructions(binary, *args):
    out = tempfile.mktemp(prefix="callgrind.")
    r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        "--toggle-collect=meshplane::dataplane::pipeline_process*",
                        os.path.join(BUILD, "bench", binary)] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    os.unlink(out)
    return int(re.search(r"Collected : (\d+)", r.stderr).group(1))


def main():
    rounds, flows, lb_rounds = 2000, 64000, 2000
    l3 = instructions("pipeline_bench", rounds) / (rounds * BURST)
    new = instructions("lb_bench", flows, 0, 0)
    one = (instructions("lb_bench", flows, lb_rounds, 0) - new) / (lb_rounds * BURST)
    many = (instructions("lb_bench", flows, 0, lb_rounds) - new) / (lb_rounds * BURST)
    access = instructions("access_bench", rounds, 10000) / (rounds * BURST)
    logged_new = instructions("lb_bench", flows, 0, 0, 1, 0, 0, 1)
    logged_one = (instructions("lb_bench", flows, lb_rounds, 0, 1, 0, 0, 1) - logged_new) / (lb_rounds * BURST)
    breaker_new = instructions("lb_bench", flows, 0, 0, 1, 0, 0, 0, 1)
    breaker_one = (instructions("lb_bench", flows, lb_rounds, 0, 1, 0, 0, 0, 1) - breaker_new) / (lb_rounds * BURST)
    elsewhere = instructions("pipeline_bench", rounds, "elsewhere") / (rounds * BURST)
    tracked = instructions("pipeline_bench", rounds, "tracked") / (rounds * BURST)
    # Payload inspection: 1400-byte TCP segments of 32 connections to a NAT service, by difference of two runs.
    def inspect(mode):
        return (instructions("inspect_bench", 100, 1400, 300, mode) -
                instructions("inspect_bench", 100, 1400, 100, mode)) / (200 * BURST)
    plain_1400, inspected_1400, past_1400 = inspect("plain"), inspect("inspected"), inspect("past")
    results = {"l3_forwarding": l3, "lb_new_flow": new / flows, "lb_established_1_flow": one,
               f"lb_established_random_of_{flows}_flows": many, "l3_forwarding_10000_access_rules": access,
               "l3_forwarding_authorization_elsewhere": elsewhere, "l3_forwarding_authorized_tracked": tracked,
               "lb_new_flow_flow_logs": logged_new / flows, "lb_established_1_flow_flow_logs": logged_one,
               "lb_tcp_1400": plain_1400, "lb_tcp_1400_inspected_100_patterns": inspected_1400,
               "lb_tcp_1400_past_inspect_bytes": past_1400, "lb_new_flow_circuit_breaker": breaker_new / flows,
               "lb_established_1_flow_circuit_breaker": breaker_one}
    rows = [("IPv4 forwarding (parse, local, route, TTL, neighbour, L2 rewrite)", l3),
            ("load balancer, new flow (SYN: Maglev, flow insert, NAT port search, rewrite)", new / flows),
            ("load balancer, established, 1 flow", one),
            ("load balancer, new flow, flow logs on (every flow sampled; records past the rate counted)", logged_new / flows),
            ("load balancer, established, 1 flow, flow logs on", logged_one),
            ("load balancer, new flow, service with a circuit breaker (counted, under its caps)", breaker_new / flows),
            ("load balancer, established, 1 flow, service with a circuit breaker", breaker_one),
            (f"load balancer, established, random among {flows:,} flows", many),
            ("IPv4 forwarding behind 10,000 access rules", access),
            ("IPv4 forwarding, a destination authorization for other prefixes", elsewhere),
            ("IPv4 forwarding to an authorized destination, tracked (32 established connections)", tracked),
            ("load balancer, established, 1400-byte TCP segments (32 connections)", plain_1400),
            ("the same, payload inspected by 100 patterns (1,346 bytes scanned each)", inspected_1400),
            ("the same, connections past their inspect_bytes", past_1400)]
    for name, v in rows:
        print(f"{name:80} {v:7.0f} instructions/packet")
    save_json("instructions.json", results)
    table = "\n".join(f"| {name} | {v:.0f} |" for name, v in rows)
    section = f"""## Instructions per packet (callgrind)
`bench/instructions.py`: valgrind's callgrind counting only inside
`pipeline_process` (the whole packet path of a burst, PMD excluded), 32-packet
bursts of 60-byte packets on real mbufs; the same numbers on any x86-64
machine with the same compiler, so compare versions with these.

| scenario | instructions/packet |
| --- | --- |
{table}"""
    replace_section("instructions", section, "bench/instructions.py")

if __name__ == "__main__":
    main()
