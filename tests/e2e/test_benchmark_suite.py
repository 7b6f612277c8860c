"""The benchmark suite's rig works end to end: bench/run.py starts meshplane
on memif with hugepages and the generator on the other side; at a fixed
1 Mpps every packet the generator schedules is sent or counted, every packet
lost is counted by a drop reason, and the results are well formed. No rate,
loss or latency bound: those are measured, not tested (docs/benchmarks.md)."""
import json
import os
import subprocess
import tempfile

import pytest

from testbed import ROOT


def hugepages_possible():
    return os.access("/proc/sys/vm/nr_hugepages", os.W_OK)


@pytest.mark.skipif(not hugepages_possible(), reason="needs hugepages (root, a kernel that allows them)")
def test_l3_at_a_fixed_rate_loses_nothing():
    out = tempfile.mkdtemp(prefix="mp-bench-")
    r = subprocess.run([os.path.join(ROOT, "bench", "run.py"), "--only", "l3_latency", "--seconds", "2", "--no-doc",
                        "--results", out, "--instance", "test"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    with open(os.path.join(out, "l3_latency.json")) as f:
        result = json.load(f)
    g = result["gen"]
    # Function, not speed (rates, loss and latency are the benchmark's to
    # report, in docs/benchmarks.md): the pacer schedules exactly 1 Mpps for
    # 2 s, each packet either sent or counted as refused by a full ring;
    # every packet sent and not received back is accounted for by a drop
    # reason; the latency summary is well formed.
    assert g["tx_packets"] + g["tx_refused"] == 2_000_000, g
    assert g["tx_packets"] > 0 and g["rx_packets"] > 0, g
    lost = g["tx_packets"] - g["rx_packets"]
    drops = result.get("drops", {})
    assert 0 <= lost <= sum(drops.values()), (lost, drops)
    lat = g["latency_ns"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"], lat
    assert result["cycles_per_packet"] > 0
