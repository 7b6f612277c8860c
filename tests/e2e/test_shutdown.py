"""SIGTERM: workers stop, ports close, final counters are printed."""
import re

from testbed import Daemon


def test_sigterm_stops_cleanly_with_final_counters(topo):
    d = Daemon(topo.policy(), name="stop").start()
    topo.ns(topo.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", topo.server_ip])
    assert d.stop() == 0
    out = d.output()
    assert re.search(r"^client\s+\d+", out, re.M), out
    assert "stopped" in d.log_text()
