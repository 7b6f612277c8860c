"""The host exception path with real kernel TCP: meshplane puts a TAP per port
in a network namespace it names; programs there reach the networks behind
the DPDK ports (curl to a backend, ping to the client), and a server in the
namespace answers clients on the gateway's address, all while the workers
balance a download through the VIP. The namespace keeps the gateway's
networks out of the host's own routing."""
import subprocess

import pytest

from testbed import MESHPLANE, Daemon, SlowDownload, Topology, lb_policy, service, sh
from testbed.wrk import Wrk

NETNS = "mpv-host"
WEB = "10.30.0.10"
EXCEPTION = f"""
exception_path:
  netns: {NETNS}
  packets_per_second: 20000
  local_ports: 61000-65535
"""


@pytest.fixture(scope="module")
def rig():
    sh(["ip", "netns", "del", NETNS], check=False)
    topo = Topology(prefix="mpv", backends=1).up()
    procs = topo.named_servers()
    d = None
    try:
        d = Daemon(topo.policy(lb_policy(service("web", WEB, ["10.10.2.11"]), nat_port_max=60999) + EXCEPTION),
                   name="mpv").start()
        yield topo, d
    finally:
        if d:
            assert d.stop() == 0
        for p in procs:
            p.kill()
            p.wait()
        topo.down()
        sh(["ip", "netns", "del", NETNS], check=False)


def host(cmd, check=False, timeout=30):
    return sh(["ip", "netns", "exec", NETNS] + cmd, check=check, timeout=timeout)


def test_the_namespace_has_a_tap_per_port_with_the_ports_addresses(rig):
    addresses = host(["ip", "-4", "-o", "addr", "show"], check=True).stdout
    assert "mp-client" in addresses and "10.10.1.1/24" in addresses, addresses
    assert "mp-server" in addresses and "10.10.2.1/24" in addresses, addresses
    assert "10.20.0.0/16 via 10.10.2.2" in host(["ip", "route"], check=True).stdout, "the policy's routes"
    assert host(["sysctl", "-n", "net.ipv4.ip_local_port_range"], check=True).stdout.split() == ["61000", "65535"]
    assert "10.10.2" not in sh(["ip", "route"]).stdout, "the host's own routing never learns them"


def test_programs_in_the_namespace_reach_the_networks_behind_the_ports(rig):
    topo, d = rig
    r = host(["curl", "-sS", "--max-time", "10", "http://10.10.2.11:8080/"])
    assert r.returncode == 0 and r.stdout.strip() == "b1", r.stderr
    r = host(["ping", "-c", "2", "-i", "0.2", "-W", "2", topo.client_ip])
    assert r.returncode == 0, r.stdout + r.stderr
    s = d.wait_for(lambda s: s["exception_to_host"] > 0 and s["exception_from_host"] > 0)
    assert s["drops"].get("exception_queue_full", 0) == 0


def test_a_server_in_the_namespace_answers_clients_while_the_workers_balance(rig, tmp_path):
    topo, _ = rig
    (tmp_path / "hello.txt").write_text("from the gateway host\n")
    server = subprocess.Popen(["ip", "netns", "exec", NETNS, "/usr/bin/python3", "-m", "http.server", "9000",
                               "--bind", "10.10.1.1", "--directory", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        download = SlowDownload(topo, WEB, size=3_000_000, rate=1_500_000)
        download.wait_bytes(100_000)
        r = topo.ns(topo.client, ["curl", "-sS", "--retry", "5", "--retry-connrefused", "--retry-delay", "1",
                                  "--max-time", "20", "http://10.10.1.1:9000/hello.txt"], check=False, timeout=60)
        assert r.returncode == 0 and r.stdout == "from the gateway host\n", r.stderr
        refused = topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", "http://10.10.1.1:9999/"], check=False)
        assert refused.returncode == 7, "the host's kernel refuses a port nothing listens on (RST), promptly"
        rc, digest, err = download.finish()
        assert rc == 0 and digest == download.expected_digest(), err
    finally:
        server.kill()
        server.wait()


def test_a_host_session_keeps_going_while_the_workers_forward_under_load(rig):
    """wrk keeps the workers as busy as this rig's links allow (8 connections
    to the VIP); meanwhile a program on the gateway host downloads 3 MB from
    the backend through the exception path, intact, and wrk loses nothing."""
    topo, d = rig
    before = d.stats()["exception_from_host"]
    w = Wrk(topo, f"http://{WEB}/", connections=8, seconds=90)  # stopped once the download is done
    r = host(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "--max-time", "60",
              "http://10.10.2.11:8080/stream?bytes=3000000"], timeout=90)
    still_loaded = w.running()
    w.stop()
    result = w.finish()
    assert r.returncode == 0 and r.stdout == "200 3000000", r.stdout + r.stderr
    assert still_loaded, "the download ran while wrk did"
    assert result["requests"] > 0 and sum(result["errors"].values()) == 0, result["text"]
    s = d.stats()
    assert s["exception_from_host"] > before
    assert s["drops"].get("exception_queue_full", 0) == 0
    print(f"\nhost download alongside {result['requests']} wrk requests")


def test_host_ports_that_overlap_nat_ports_are_refused(rig, tmp_path):
    topo, _ = rig
    bad = tmp_path / "bad.yaml"
    bad.write_text(topo.policy(lb_policy(service("web", WEB, ["10.10.2.11"])) + EXCEPTION))
    r = sh([MESHPLANE, "--check", str(bad)], check=False)
    assert r.returncode == 1 and "overlap the NAT ports 1024-65535" in r.stderr, r.stderr
