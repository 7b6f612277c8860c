"""bench/pktgen/meshplane.lua runs to the end against a stand-in for
pktgen's Lua API (tests/e2e/pktgen_fake/Pktgen.lua; pktgen itself is not
packaged for Debian 12): the ranges it programs give the flow counts the
scenarios promise, and its loss and rate arithmetic is right."""
import os
import shutil
import subprocess
import tempfile

import pytest

from topology import ROOT

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.skipif(shutil.which("lua5.4") is None, reason="lua5.4 not installed (scripts/setup.sh installs it)")
def test_pktgen_script_runs_and_programs_the_ranges():
    work = tempfile.mkdtemp(prefix="mp-pktgen-")
    driver = os.path.join(work, "run.lua")
    with open(driver, "w") as f:
        f.write(f'package.path = "{HERE}/pktgen_fake/?.lua;" .. package.path\n'
                f'dofile("{ROOT}/bench/pktgen/meshplane.lua")\n'
                'for _, c in ipairs(calls) do print(c) end\n')
    r = subprocess.run(["lua5.4", driver], cwd=work, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # 1M flows: 1000 source addresses from 10.1.0.1 and 1001 source ports (coprime).
    assert "range.src_ip(0,max,10.1.3.232)" in lines
    assert "range.src_port(0,max,2024)" in lines
    assert "range.dst_ip(0,start,10.30.0.10)" in lines and "range.dst_ip(0,inc,0.0.0.0)" in lines
    results = [line for line in lines if "Mpps received" in line]
    assert len(results) == 5
    assert all("9.90 Mpps received, loss 1.000%" in line for line in results), results
    with open(os.path.join(work, "meshplane-pktgen.csv")) as f:
        rows = f.read().splitlines()
    assert rows[0].startswith("scenario,") and len(rows) == 6
    assert rows[4].startswith("lb_est_1m,10,100000000,99000000,9.900,1.0000")
