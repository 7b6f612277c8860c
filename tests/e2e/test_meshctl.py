"""meshctl against a running daemon, every command: status, get, apply
(good, invalid, dry run, needs a restart), endpoint changes, stats, events;
exit codes; the socket's permissions; a stale socket after a crash."""
import json
import os
import signal
import stat
import subprocess

import pytest

from testbed import MESHCTL, MESHPLANE as MESHPLANE_BIN, Daemon, lb_policy, lb_rig, service

VIP = "10.30.0.10"


def services(endpoints, name="web"):
    return lb_policy(service(name, VIP, endpoints))


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpc", services(["10.10.2.11", "10.10.2.12"])) as r:
        yield r


def write(d, name, text):
    path = os.path.join(d.dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def generation(d):
    return json.loads(d.meshctl("-o", "json", "status", check=True).stdout)["generation"]


def test_socket_is_0660_and_status_answers(rig):
    topo, d = rig
    mode = os.stat(d.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
    r = d.meshctl("status")
    assert r.returncode == 0, r.stderr
    assert "policy generation 1" in r.stdout and "port client" in r.stdout and "up" in r.stdout
    s = json.loads(d.meshctl("-o", "json", "status").stdout)
    assert [p["name"] for p in s["ports"]] == ["client", "server"] and all(p["link_up"] for p in s["ports"])
    assert len(s["workers"]) == 1 and s["services"] == 1 and s["socket"] == d.socket


def test_apply_and_get_policy(rig):
    topo, d = rig
    g = generation(d)
    path = write(d, "three.yaml", topo.policy(services(["10.10.2.11", "10.10.2.12", "10.10.2.13"])))
    r = d.meshctl("apply", "-f", path)
    assert r.returncode == 0, r.stderr
    assert f"applied, generation {g + 1}" in r.stdout
    got = json.loads(d.meshctl("-o", "json", "get", "policy").stdout)
    assert got["generation"] == g + 1 and "10.10.2.13" in got["yaml"]
    answers, errors = topo.lb_client("http", VIP, 80, 60)
    assert errors == [] and set(answers) == {"b1", "b2", "b3"}
    table = d.meshctl("get", "services").stdout
    assert "web" in table and VIP in table


def test_invalid_apply_prints_every_error_and_changes_nothing(rig):
    topo, d = rig
    g = generation(d)
    before = d.meshctl("get", "policy").stdout
    bad = topo.policy(services(["10.10.2.11", "10.10.2.300"])).replace("flow_capacity: 65536", "flow_capacity: 1")
    path = write(d, "bad.yaml", bad)
    r = d.meshctl("apply", "-f", path)
    assert r.returncode == 1
    assert f"{path}:" in r.stderr and "not an IPv4 address" in r.stderr and "flow_capacity" in r.stderr
    j = json.loads(d.meshctl("-o", "json", "apply", "-f", path).stdout)
    assert {e["line"] for e in j["error"]["errors"]} == {bad.count("\n", 0, bad.index("flow_capacity")) + 1,
                                                         bad.count("\n", 0, bad.index("10.10.2.300")) + 1}
    assert all(e["column"] > 0 for e in j["error"]["errors"])
    assert generation(d) == g and d.meshctl("get", "policy").stdout == before


def test_dry_run_and_restart_only_changes(rig):
    topo, d = rig
    g = generation(d)
    path = write(d, "dry.yaml", topo.policy(services(["10.10.2.11"])))
    r = d.meshctl("apply", "-f", path, "--dry-run")
    assert r.returncode == 0 and "dry run" in r.stdout, r.stderr
    assert generation(d) == g
    path = write(d, "mtu.yaml", topo.policy(services(["10.10.2.11"])).replace("addresses: [10.10.1.1/24]",
                                                                             "addresses: [10.10.1.1/24]\n    mtu: 1400"))
    r = d.meshctl("apply", "-f", path)
    assert r.returncode == 1 and "needs a restart" in r.stderr
    assert generation(d) == g


def endpoint_rows(d):
    return {e["endpoint"]: e for e in json.loads(d.meshctl("-o", "json", "get", "endpoints", "web").stdout)}


def test_endpoint_commands(rig):
    topo, d = rig
    g = generation(d)
    r = d.meshctl("endpoints", "add", "web", "10.10.2.13", "--weight", "3")
    assert r.returncode in (0, 1), r.stderr  # present already if an earlier test applied three endpoints
    if r.returncode == 1:
        assert "already has endpoint 10.10.2.13" in r.stderr
        assert d.meshctl("endpoints", "weight", "web", "10.10.2.13", "3").returncode == 0
    rows = endpoint_rows(d)
    assert rows["10.10.2.13"]["weight"] == 3
    assert d.meshctl("endpoints", "drain", "web", "10.10.2.12").returncode == 0
    rows = endpoint_rows(d)
    assert rows["10.10.2.12"]["weight"] == 0 and rows["10.10.2.12"]["state"] == "drained"
    assert d.meshctl("endpoints", "remove", "web", "10.10.2.11").returncode == 0
    rows = endpoint_rows(d)
    assert rows["10.10.2.11"]["state"] == "draining" and 0 < rows["10.10.2.11"]["drain_seconds_left"] <= 30
    assert rows["10.10.2.13"]["state"] == "active" and "drain_seconds_left" not in rows["10.10.2.13"]
    table = {line.split()[1]: line.split() for line in d.meshctl("get", "endpoints", "web").stdout.splitlines()[1:]}
    assert table["10.10.2.11"][3] == "draining" and table["10.10.2.11"][4].endswith("s")
    assert table["10.10.2.12"][3] == "drained" and table["10.10.2.13"][3] == "active"
    answers, errors = topo.lb_client("http", VIP, 80, 30)
    assert errors == [] and answers == {"b3": 30}, "drained and removed endpoints take no new connections"
    assert generation(d) == g + 3
    r = d.meshctl("endpoints", "remove", "nope", "10.10.2.11")
    assert r.returncode == 1 and "no service named 'nope'" in r.stderr
    r = d.meshctl("endpoints", "add", "web", "10.10.2.1")
    assert r.returncode == 1 and "gateway's own address" in r.stderr
    policy = d.meshctl("get", "policy").stdout
    assert "10.10.2.11" not in policy and "weight: 3" in policy


def test_stats_and_events(rig):
    topo, d = rig
    s = json.loads(d.meshctl("-o", "json", "stats").stdout)
    assert s["forwarded"] > 0 and s["services"][0]["name"] == "web"
    assert "forwarded" in d.meshctl("stats").stdout
    # Live: a watcher started before a change sees it (changes repeat until it has subscribed).
    watcher = subprocess.Popen([MESHCTL, "--socket", d.socket, "-o", "json", "events", "--count", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for i in range(20):
        assert d.meshctl("endpoints", "weight", "web", "10.10.2.13", 2 + i % 2).returncode == 0
        try:
            out, err = watcher.communicate(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            continue
    assert watcher.returncode == 0, err
    assert json.loads(out)["kind"] == "policy_applied"
    # Replay: the last events, in order, including a drain.
    assert d.meshctl("endpoints", "add", "web", "10.10.2.12:8080").returncode == 0
    assert d.meshctl("endpoints", "remove", "web", "10.10.2.12:8080").returncode == 0
    replay = d.meshctl("-o", "json", "events", "--replay", "3", "--count", "3").stdout
    kinds = [json.loads(line)["kind"] for line in replay.splitlines()]
    assert kinds == ["policy_applied", "policy_applied", "endpoint_draining"], replay


def test_unreachable_daemon_exit_code(rig):
    _, d = rig
    r = subprocess.run([MESHCTL, "--socket", "/nonexistent/meshplane.sock", "status"], capture_output=True, text=True)
    assert r.returncode == 3 and "cannot reach meshplane" in r.stderr
    r = subprocess.run([MESHCTL, "get", "nothing"], capture_output=True, text=True)
    assert r.returncode == 2


def test_stale_socket_from_a_crash_is_replaced(topo):
    d = Daemon(topo.policy(), name="crash").start()
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    assert os.path.exists(d.socket), "a killed daemon leaves its socket behind"
    again = Daemon(topo.policy(), name="after-crash")
    again.socket = d.socket
    again.start()
    try:
        assert again.meshctl("status").returncode == 0
    finally:
        assert again.stop() == 0


def test_hostile_documents_are_refused_whole_with_a_position(rig):
    """Field report (issue 9.8): nesting 200,000 deep once kept the daemon
    busy for minutes and a 50 MB file met gRPC's raw 4 MB limit."""
    topo, d = rig
    g = generation(d)
    deep = write(d, "deep.yaml", "ports: " + "[" * 200_000 + "]" * 200_000 + "\n")
    r = subprocess.run([MESHPLANE_BIN, "--check", deep], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and f"{deep}:1:71: error: lists and maps nested more than 64 deep" in r.stderr, r.stderr
    r = d.meshctl("apply", "-f", deep)
    assert r.returncode == 1 and "deep.yaml:1:71: error: lists and maps nested more than 64 deep" in r.stderr, r.stderr
    big = write(d, "big.yaml", topo.policy(services(["10.10.2.11"])) + "# " + "x" * 50_000_000 + "\n")
    r = d.meshctl("apply", "-f", big)
    assert r.returncode == 1 and "a policy may be at most 16777216 bytes" in r.stderr, r.stderr
    r = subprocess.run([MESHPLANE_BIN, "--check", big], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "a policy may be at most 16777216 bytes" in r.stderr, r.stderr
    assert generation(d) == g
    assert d.meshctl("status").returncode == 0
