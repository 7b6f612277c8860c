"""The benchmark suite's rig works end to end: bench/run.py starts meshplane
on memif with hugepages and the generator on the other side; at a fixed
1 Mpps every packet comes back, and the generator's latency stamps are sane."""
import json
import os
import subprocess
import tempfile

import pytest

from topology import ROOT


def hugepages_possible():
    return os.access("/proc/sys/vm/nr_hugepages", os.W_OK)


@pytest.mark.skipif(not hugepages_possible(), reason="needs hugepages (root, a kernel that allows them)")
def test_l3_at_a_fixed_rate_loses_nothing():
    out = tempfile.mkdtemp(prefix="mp-bench-")
    r = subprocess.run([os.path.join(ROOT, "bench", "run.py"), "--only", "l3_latency", "--seconds", "2", "--no-doc",
                        "--results", out], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    with open(os.path.join(out, "l3_latency.json")) as f:
        result = json.load(f)
    g = result["gen"]
    # The pacer schedules exactly 1 Mpps; what the DUT's ring refused when it
    # stalled (it shares a CPU) is counted apart, and must stay small.
    assert abs(g["tx_packets"] + g["tx_refused"] - 2_000_000) < 20_000, g
    assert g["tx_refused"] < 40_000, g
    # The only loss allowed is the rig's: the generator shares its CPU, and when it
    # stalls the DUT finds the memif ring back to it full (counted as tx_queue_full).
    lost = g["tx_packets"] - g["rx_packets"]
    drops = result.get("drops", {})
    assert set(drops) <= {"tx_queue_full"}, drops
    assert 0 <= lost <= drops.get("tx_queue_full", 0) and lost < 2000, (lost, drops)
    assert 0 < g["latency_ns"]["p50"] < 1_000_000, g["latency_ns"]
    assert g["latency_ns"]["p50"] <= g["latency_ns"]["p99"] <= g["latency_ns"]["max"]
    assert result["cycles_per_packet"] > 0
