"""Two workers, each with its own queue pair on every port (af_packet qpairs=2:
the kernel's fanout spreads flows over the queues). The machine has two CPUs,
so both workers share CPU 1 (--lcores 0@0,1@1,2@1): this proves function, not speed."""
import hashlib
import os
import tempfile

from testbed import EAL_ARGS, Daemon

TWO_WORKERS = ["--lcores", "0@0,1@1,2@1"] + EAL_ARGS[2:]


def test_two_workers_share_the_traffic_and_lose_nothing(topo):
    assert EAL_ARGS[:2] == ["-l", "0,1"]
    d = Daemon(topo.policy(qpairs=2), name="two-workers", eal_args=TWO_WORKERS).start()
    webroot = tempfile.mkdtemp(prefix="mp-web2-")
    blob = os.urandom(1024 * 1024)
    with open(os.path.join(webroot, "blob.bin"), "wb") as f:
        f.write(blob)
    server = topo.http_server(webroot)
    try:
        assert "2 worker(s)" in d.log_text()
        r = topo.ns(topo.client, ["ping", "-c", "3", "-i", "0.2", "-W", "2", topo.server_ip], check=False)
        assert r.returncode == 0, r.stdout
        out = os.path.join(webroot, "got.bin")
        for i in range(16):  # separate connections hash to queues independently: all on one is 2^-15
            r = topo.fetch(f"http://{topo.server_ip}:8080/blob.bin", out)
            assert r.stdout == "200", r.stderr
            with open(out, "rb") as f:
                assert hashlib.sha256(f.read()).digest() == hashlib.sha256(blob).digest(), f"transfer {i}"
        s = d.wait_for(lambda s: all(w["rx_packets"] > 100 for w in s["workers"]))
        assert len(s["workers"]) == 2
    finally:
        server.kill()
        server.wait()
        assert d.stop() == 0
