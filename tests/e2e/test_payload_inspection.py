"""Payload matching with real clients: a pattern set on a service blocks a
request line, tags a header and alerts on a probe. A blocked request is reset
(curl sees the reset) while other requests pass; the same request written
in two segments, and one byte per segment, is still caught (each piece is
acknowledged before the next is sent, so the gateway sees separate
segments, counted by the service); an alert leaves the request alone and
raises an event naming the pattern; a set changed under a running download
loses nothing (the download under inspection moves to the new database);
a pattern Hyperscan refuses is reported at its line and
column, and the running policy stays."""
import json

import pytest

from testbed import SlowDownload, lb_policy, lb_rig, service
from testbed.paths import SPLIT_REQUEST

WEB = "10.30.0.10"
GUARD = """
pattern_sets:
  - name: http-guard
    inspect_bytes: 1048576
    patterns:
      - name: admin-path
        regex: '^(GET|POST) /admin'
        action: block
      - name: curl-agent
        literal: 'User-Agent: curl/'
        flags: [caseless]
        action: tag
        tag: curl
      - name: probe
        regex: 'select.+from'
        flags: [caseless, single_match]
        action: alert
"""
SERVICES = lb_policy(service("web", WEB, ["10.10.2.11"], inspect="http-guard")) + GUARD


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpi", SERVICES, backends=1) as r:
        yield r


def pattern_set(stats, name="http-guard"):
    return next(s for s in stats["pattern_sets"] if s["name"] == name)


def matches(stats, pattern):
    return next(int(p.get("matches", 0)) for p in pattern_set(stats)["patterns"] if p["name"] == pattern)


def curl(topo, path):
    return topo.ns(topo.client, ["curl", "-sS", "--max-time", "5", f"http://{WEB}{path}"], check=False)


def split(topo, request, piece):
    r = topo.ns(topo.client, ["/usr/bin/python3", SPLIT_REQUEST, WEB, "80", request, str(piece)], timeout=60)
    return json.loads(r.stdout)


def test_a_blocked_path_is_reset_while_others_pass(rig):
    topo, d = rig
    before = d.stats()
    ok = curl(topo, "/index.html")
    assert ok.returncode == 0 and ok.stdout.strip() == "b1", ok.stderr
    blocked = curl(topo, "/admin/users")
    assert blocked.returncode == 56 and "reset" in blocked.stderr.lower(), (blocked.returncode, blocked.stderr)
    after = d.wait_for(lambda s: pattern_set(s)["blocked"] > 0)
    assert after["drops"]["pattern_blocked"] >= 1
    assert matches(after, "admin-path") == matches(before, "admin-path") + 1
    # The request that passed was tagged; the blocked one was not scanned past its block.
    assert matches(after, "curl-agent") == matches(before, "curl-agent") + 1
    assert any(e["kind"] == "pattern_block" and "admin-path" in e["message"] and "10.10.1.2" in e["message"]
               for e in d.events())
    assert curl(topo, "/").stdout.strip() == "b1", "the gateway keeps serving"


@pytest.mark.parametrize("piece", [8, 1])
def test_a_request_split_over_segments_is_still_caught(rig, piece):
    """With 8-byte pieces "GET /adm" and "in HTTP/" each pass alone; the reset
    comes with the piece that completes the pattern, and nothing after it is sent."""
    topo, d = rig
    before = d.stats()
    r = split(topo, "GET /admin HTTP/1.1\\r\\nHost: web\\r\\n\\r\\n", piece)
    assert r["outcome"] == "reset", r
    assert r["segments"] == -(-len("GET /admin") // piece), r
    after = d.wait_for(lambda s: matches(s, "admin-path") > matches(before, "admin-path"))
    svc, svc_before = (next(x for x in s["services"] if x["name"] == "web") for s in (after, before))
    assert svc["packets"] - svc_before["packets"] >= r["segments"], "each piece was a segment of its own"


def test_a_harmless_request_in_single_bytes_is_answered(rig):
    topo, _ = rig
    r = split(topo, "GET /adm1n HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n", 1)
    assert r["outcome"] == "answered" and r["first_line"].startswith("HTTP/1.0 200"), r


def test_an_alert_leaves_the_request_alone_and_raises_an_event(rig):
    topo, d = rig
    ok = curl(topo, "/search?q=SELECT+name+FROM+users")
    assert ok.returncode == 0 and ok.stdout.strip() == "b1", ok.stderr
    d.wait_for(lambda s: matches(s, "probe") >= 1)
    assert any(e["kind"] == "pattern_alert" and "probe" in e["message"] for e in d.events())


def test_get_patterns_lists_sets_patterns_and_tags(rig):
    topo, d = rig
    curl(topo, "/")
    table = d.meshctl("get", "patterns", check=True).stdout
    assert "pattern set http-guard" in table and "admin-path" in table and "tag curl" in table, table
    sets = json.loads(d.meshctl("-o", "json", "get", "patterns", check=True).stdout)
    assert sets[0]["name"] == "http-guard" and sets[0]["used_by"] == ["service 'web'"]
    assert int(sets[0]["tags"]["curl"]) >= 1


def test_a_refused_pattern_is_reported_with_its_position_and_changes_nothing(rig, tmp_path):
    topo, d = rig
    bad = topo.policy(SERVICES.replace("'select.+from'", "'select(.+from'"))
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    r = d.meshctl("apply", "-f", str(path))
    assert r.returncode != 0
    line = next(i + 1 for i, text in enumerate(bad.splitlines()) if "select(.+from" in text)
    assert f"bad.yaml:{line}:" in r.stderr and "Hyperscan refuses it" in r.stderr, r.stderr
    assert curl(topo, "/admin").returncode == 56, "the running set still blocks"


def test_a_set_changed_under_a_download_loses_nothing(rig, tmp_path):
    topo, d = rig
    download = SlowDownload(topo, WEB, size=3_000_000, rate=1_000_000)
    download.wait_bytes(200_000)
    changed = topo.policy(SERVICES.replace("/admin'", "/private'"))
    path = tmp_path / "changed.yaml"
    path.write_text(changed)
    d.meshctl("apply", "-f", str(path), check=True)
    rc, digest, err = download.finish()
    assert rc == 0 and digest == download.expected_digest(), err
    # The download was under inspection (its first MiB) when the set changed: it moved to the new database.
    d.wait_for(lambda s: pattern_set(s)["switched"] >= 1)
    assert curl(topo, "/admin").returncode == 0, "the new set no longer blocks /admin"
    assert curl(topo, "/private").returncode == 56, "it blocks /private"
