"""bench/pktgen/meshplane.lua against a stand-in for pktgen-dpdk 23.03's Lua
environment (testbed/helpers/pktgen_fake/pktgen.lua; pktgen is not packaged for
Debian 12) that behaves as the real one did in the field: no "Pktgen" module
to require, range packets built once into a 24,576-buffer pool and resent,
16-bit ports, quit() ends it. The script runs from any directory, each
scenario has the distinct flows its name promises, pktgen quits at the end,
a second run appends to the CSV without a second header, and the rate and
loss arithmetic is right."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from testbed import HELPERS, ROOT


def run_script(work):
    driver = os.path.join(work, "run.lua")
    with open(driver, "w") as f:
        f.write(f'dofile("{HELPERS}/pktgen_fake/pktgen.lua")\n'
                f'dofile("{ROOT}/bench/pktgen/meshplane.lua")\n'
                'for _, c in ipairs(calls) do print(c) end\n'
                'for _, n in ipairs(flows) do print("flows " .. n) end\n')
    r = subprocess.run(["lua5.4", driver], cwd=work, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


@pytest.mark.skipif(shutil.which("lua5.4") is None, reason="lua5.4 not installed (scripts/setup.sh installs it)")
def test_pktgen_script_measures_what_its_scenarios_say():
    work = tempfile.mkdtemp(prefix="mp-pktgen-")  # not the project root: the script must not need pktgen's tree
    lines = run_script(work)
    results = [line for line in lines if "Mpps received" in line]
    promised = [int(re.search(r"([\d,]+) flows?\b", line).group(1).replace(",", "")) for line in results]
    pools = [int(line.split()[1]) for line in lines if line.startswith("flows ")]
    assert pools == promised, f"distinct flows in pktgen's pool {pools}, names promise {promised}"
    assert all(n <= 24576 for n in pools)
    assert all("9.90 Mpps received, loss 1.000%" in line for line in results), results
    assert lines[len(lines) - len(pools) - 1] == "quit()", "pktgen is told to quit at the end"
    lines = run_script(work)
    with open(os.path.join(work, "meshplane-pktgen.csv")) as f:
        rows = f.read().splitlines()
    assert rows[0] == "scenario,flows,seconds,tx_packets,rx_packets,rx_mpps,loss_percent"
    assert len(rows) == 1 + 2 * len(pools), "a second run appends rows, not another header"
    assert "lb_est_24k,24127,10,100000000,99000000,9.900,1.0000" in rows


@pytest.mark.skipif(shutil.which("lua5.4") is None, reason="lua5.4 not installed (scripts/setup.sh installs it)")
def test_the_stand_in_refuses_what_pktgen_refuses():
    work = tempfile.mkdtemp(prefix="mp-pktgen-")
    probe = os.path.join(work, "probe.lua")
    with open(probe, "w") as f:
        f.write(f'dofile("{HELPERS}/pktgen_fake/pktgen.lua")\n'
                'print(pcall(require, "Pktgen"))\n'
                'print(pcall(pktgen.range.src_port, "0", "max", 66544))\n')
    out = subprocess.run(["lua5.4", probe], cwd=work, capture_output=True, text=True, timeout=30).stdout
    assert out.startswith("false") and "module 'Pktgen' not found" in out
    assert out.splitlines()[-1].startswith("false") and "beyond 16 bits" in out.splitlines()[-1]
