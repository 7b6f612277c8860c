"""How meshplane starts, refuses, reloads and stops."""
import os
import re
import signal
import subprocess
import tempfile

from testbed import MESHPLANE, Daemon

EXAMPLES = os.path.join(os.path.dirname(MESHPLANE), "..", "..", "config", "examples")


def test_check_names_each_mistake_with_line_and_column():
    bad = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    bad.write("ports:\n  - name: a\n    device: net_null0\n    addresses: [10.0.0.1/24]\n    mtu: 10\n"
              "routes:\n  - {prefix: 10.1.0.0/16, via: 10.9.9.9}\nservicez: []\n")
    bad.close()
    r = subprocess.run([MESHPLANE, "--check", bad.name], capture_output=True, text=True)
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if ": error: " in l]
    positions = [tuple(map(int, re.match(rf"{re.escape(bad.name)}:(\d+):(\d+): error: ", l).groups())) for l in lines]
    assert positions == [(5, 10), (7, 32), (8, 1)], r.stderr


def test_check_accepts_examples():
    for name in sorted(os.listdir(EXAMPLES)):
        r = subprocess.run([MESHPLANE, "--check", os.path.join(EXAMPLES, name)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_second_instance_on_same_ports_is_refused(topo, gateway):
    second = Daemon(topo.policy(), name="second")
    second.start(wait=False)
    rc = second.proc.wait(30)
    assert rc == 3
    assert "already in use by another meshplane" in second.log_text()
    assert gateway.proc.poll() is None
    r = topo.ns(topo.client, ["ping", "-c", "1", "-W", "2", topo.server_ip], check=False)
    assert r.returncode == 0, "the first instance keeps forwarding"


def test_sighup_reload_applies_valid_and_rejects_invalid(topo, gateway):
    gen = gateway.stats()["generation"]
    gateway.write_policy("ports: [oops\n")
    gateway.signal(signal.SIGHUP)
    gateway.wait_log("reload rejected", 10)
    assert gateway.stats()["generation"] == gen
    assert topo.ns(topo.client, ["ping", "-c", "1", "-W", "2", topo.server_ip], check=False).returncode == 0

    # A new static route to a prefix the server owns appears without a restart.
    topo.ns(topo.server, ["ip", "addr", "add", "10.30.0.1/32", "dev", "lo"], check=False)
    assert topo.ns(topo.client, ["ping", "-c", "1", "-W", "1", "10.30.0.1"], check=False).returncode != 0
    gateway.write_policy(topo.policy().replace("routes:\n", f"routes:\n  - prefix: 10.30.0.0/16\n    via: {topo.server_ip}\n"))
    gateway.signal(signal.SIGHUP)
    gateway.wait_for(lambda s: s["generation"] == gen + 1, 10)
    assert topo.ns(topo.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.30.0.1"], check=False).returncode == 0
    gateway.write_policy(topo.policy())

