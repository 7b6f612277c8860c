"""Health checks of type https and command, and on_unhealthy: reset, with
real backends. An https check passes against a TLS server and fails, with
the TLS error in its event, against a plain HTTP server on the same port. A
command check (a shell test of a file on the gateway host, run in the
exception namespace with the endpoint in its environment) takes an endpoint
out when the file appears; with on_unhealthy: reset, a download under way
from that endpoint is reset at once instead of running on."""
import os
import time

import pytest

from testbed import Daemon, SlowDownload, Topology, lb_policy, service, sh
from testbed.paths import NAMED_SERVER, TLS_SERVER

NETNS = "mps-host"
WEB, TLS = "10.30.0.10", "10.30.0.11"
TIMING = {"interval_ms": 300, "timeout_ms": 200, "healthy_threshold": 2, "unhealthy_threshold": 2}


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    work = tmp_path_factory.mktemp("checks")
    cert, key = str(work / "cert.pem"), str(work / "key.pem")
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=tls.example", "-keyout", key, "-out", cert])
    os.chmod(key, 0o600)
    flags = work / "flags"
    flags.mkdir()
    sh(["ip", "netns", "del", NETNS], check=False)
    topo = Topology(prefix="mps", backends=2).up()
    servers = {i: topo.helper(i, NAMED_SERVER, f"b{i + 1}", "--http=0.0.0.0:8080") for i in range(2)}
    servers["tls"] = topo.helper(0, TLS_SERVER, "0.0.0.0", "8443", cert, key)
    command = ["/bin/sh", "-c", f"test ! -e {flags}/down-$MESHPLANE_ENDPOINT_ADDRESS || "
                                "{ echo maintenance flag set; exit 1; }"]
    web = service("web", WEB, topo.backend_ips, on_unhealthy="reset", panic_threshold=0,
                  health_check={"type": "command", "command": command, **TIMING})
    tls = service("tls", TLS, [topo.backend_ips[0]], ports=(("tcp", 443, 8443),), panic_threshold=0,
                  health_check={"type": "https", "path": "/", "sni": "tls.example", **TIMING})
    d = None
    try:
        d = Daemon(topo.policy(lb_policy(web, tls, nat_port_max=60999) + f"exception_path: {{netns: {NETNS}}}\n"),
                   name="mps").start()
        yield topo, d, servers, flags, (cert, key)
    finally:
        if d:
            assert d.stop() == 0
        for p in servers.values():
            p.kill()
            p.wait()
        topo.down()
        sh(["ip", "netns", "del", NETNS], check=False)


def health(stats, name):
    svc = next(s for s in stats["services"] if s["name"] == name)
    return {e["address"]: e.get("health", "") for e in svc["endpoints"]}


def test_https_needs_a_tls_handshake(rig):
    topo, d, servers, _, (cert, key) = rig
    d.wait_for(lambda s: health(s, "tls")["10.10.2.11"] == "healthy", timeout=10)
    servers["tls"].kill()
    servers["tls"].wait()
    servers["tls"] = topo.helper(0, NAMED_SERVER, "plain", "--http=0.0.0.0:8443")  # HTTP, not HTTPS
    d.wait_for(lambda s: health(s, "tls")["10.10.2.11"] == "unhealthy", timeout=10)
    event = next(e for e in d.events() if e["kind"] == "endpoint_unhealthy" and e["message"].startswith("tls/"))
    assert "TLS" in event["message"], event
    servers["tls"].kill()
    servers["tls"].wait()
    servers["tls"] = topo.helper(0, TLS_SERVER, "0.0.0.0", "8443", cert, key)
    d.wait_for(lambda s: health(s, "tls")["10.10.2.11"] == "healthy", timeout=10)


def test_a_command_takes_an_endpoint_out_and_reset_ends_its_connections(rig):
    topo, d, _, flags, _ = rig
    d.wait_for(lambda s: set(health(s, "web").values()) == {"healthy"}, timeout=10)
    download = SlowDownload(topo, WEB, size=6_000_000, rate=1_000_000, max_time=30)
    serving = download.backend()
    download.wait_bytes(100_000)
    address = "10.10.2.11" if serving == "b1" else "10.10.2.12"
    (flags / f"down-{address}").touch()
    flagged = time.monotonic()
    d.wait_for(lambda s: health(s, "web")[address] == "unhealthy", timeout=10)
    print(f"\nunhealthy {time.monotonic() - flagged:.2f} s after the flag appeared")
    event = next(e for e in d.events() if e["kind"] == "endpoint_unhealthy" and e["message"].startswith(f"web/{address}"))
    assert "exit status 1: maintenance flag set" in event["message"], event
    rc, _, err = download.finish()
    print(f"download reset {time.monotonic() - flagged:.2f} s after the flag appeared")
    assert rc == 56, f"the download is reset (curl 56), not left to finish: rc {rc} {err}"
    answers, errors = topo.lb_client("http", WEB, 80, 20)
    assert not errors and serving not in answers, (answers, errors)
    (flags / f"down-{address}").unlink()
    d.wait_for(lambda s: health(s, "web")[address] == "healthy", timeout=10)
