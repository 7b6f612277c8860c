"""Rekeying under load, as a keying daemon does it through the API
(meshctl sas): new inbound SA at the receiver, then the sender's outbound SA
replaced in one change, then the old inbound SA deleted after an overlap.
Every two seconds, both directions, during a paced TCP download and a paced
UDP stream whose every datagram is answered: nothing is lost, nothing reset."""
import hashlib
import json
import os
import subprocess
import tempfile
import time

from testbed.paths import UDP_FLOOD
from testbed.tunnel import SPI_AB, SPI_BA, TwoSites, key_material, running
from testbed.wire import stream_digest

SIZE, RATE = 12_000_000, 1_200_000  # a download of about 10 s


def key_file(directory, name):
    path = os.path.join(directory, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(key_material() + "\n")
    return path


def ok(d, *args):
    r = d.meshctl(*args)
    assert r.returncode == 0, f"meshctl {' '.join(args)}: {r.stderr}"


def rekey(sender, sender_peer, receiver, receiver_peer, old, new, key):
    """Make before break: the receiver takes the new SA, the sender switches, the old one goes after an overlap."""
    ok(receiver, "sas", "add", receiver_peer, "--direction", "inbound", "--spi", hex(new), "--key-file", key)
    ok(sender, "sas", "add", sender_peer, "--direction", "outbound", "--spi", hex(new), "--key-file", key,
       "--replace", hex(old))
    time.sleep(0.5)
    ok(receiver, "sas", "delete", receiver_peer, "--direction", "inbound", "--spi", hex(old))


def test_rekeys_every_two_seconds_lose_nothing():
    t = TwoSites(prefix="mpk")
    state = tempfile.mkdtemp(prefix="mpk-keys-")
    with running(t) as (a, b):
        body = os.path.join(state, "body")
        download = subprocess.Popen(["ip", "netns", "exec", t.site_a, "curl", "-sS", "--max-time", "60", "-o", body,
                                     f"http://{t.host_b}:8080/stream?bytes={SIZE}&rate={RATE}"],
                                    stderr=subprocess.PIPE, text=True)
        flood = subprocess.Popen(["ip", "netns", "exec", t.site_a, "/usr/bin/python3", UDP_FLOOD, t.host_b, "7", "400",
                                  "10", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ab, ba = SPI_AB, SPI_BA
        for i in range(4):
            time.sleep(1.5)
            rekey(a, "site-b", b, "site-a", ab, ab + 0x10, key_file(state, f"ab{i}"))
            ab += 0x10
            rekey(b, "site-a", a, "site-b", ba, ba + 0x10, key_file(state, f"ba{i}"))
            ba += 0x10
        assert download.wait(60) == 0, download.stderr.read()
        with open(body, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == stream_digest(SIZE), "the download arrived intact"
        out, err = flood.communicate(timeout=60)
        counts = json.loads(out)
        assert counts["sent"] > 3000 and counts["received"] == counts["sent"], counts
        # The SAs now running are the last ones; the first are gone.
        sas = {(s["direction"], s["spi"]) for s in json.loads(a.meshctl("get", "sas", "-o", "json").stdout)
               if s["peer"] == "site-b"}
        assert sas == {("outbound", hex(ab)), ("inbound", hex(ba))}, sas
        for d in (a, b):
            drops = d.stats()["drops"]
            assert drops["esp_no_sa"] == 0 and drops["esp_auth_failed"] == 0 and drops["esp_replayed"] == 0, drops


def test_lifetimes_reached_are_events_and_a_hard_one_stops_the_sa():
    t = TwoSites(prefix="mpl")
    state = tempfile.mkdtemp(prefix="mpl-keys-")
    with running(t) as (a, b):
        key = key_file(state, "short")
        ok(b, "sas", "add", "site-a", "--direction", "inbound", "--spi", "0x5001", "--key-file", key,
           "--soft-seconds", "1", "--hard-seconds", "2")

        def lifetime():
            sas = json.loads(b.meshctl("get", "sas", "-o", "json", check=True).stdout)
            return next(s for s in sas if s["spi"] == "0x5001")["lifetime"]
        deadline = time.time() + 20
        while lifetime() != "hard":
            assert time.time() < deadline, f"the hard lifetime was not reached: {lifetime()}"
            time.sleep(0.1)
        # The three latest events: the change, then its soft and its hard lifetime.
        r = b.meshctl("events", "--replay", "3", "--count", "3", "-o", "json", timeout=10)
        kinds = [json.loads(line)["kind"] for line in r.stdout.splitlines() if line.strip()]
        assert kinds == ["policy_applied", "sa_soft_lifetime", "sa_hard_lifetime"], (kinds, r.stderr)
        assert "site-a" in b.log_text() and "hard lifetime (seconds) reached" in b.log_text()
