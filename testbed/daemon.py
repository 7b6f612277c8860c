"""A meshplane process under test: its policy, log, stats file and API socket in a temp dir."""
import json
import os
import signal
import subprocess
import tempfile
import time

from testbed.paths import EAL_ARGS, MESHCTL, MESHPLANE, RUN_DIR, sh


class Daemon:
    """A meshplane process with its policy, log and stats file in a temp dir."""

    def __init__(self, policy_text, name="meshplane", eal_args=None):
        self.eal_args = eal_args or EAL_ARGS
        self.dir = tempfile.mkdtemp(prefix=f"{name}-")
        self.config = os.path.join(self.dir, "policy.yaml")
        self.stats_file = os.path.join(self.dir, "stats.json")
        self.log = os.path.join(self.dir, "meshplane.log")
        self.out = os.path.join(self.dir, "meshplane.out")
        self.socket = os.path.join(self.dir, "api.sock")
        self.write_policy(policy_text)
        self.proc = None

    def write_policy(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def command(self):
        return [MESHPLANE] + self.eal_args + ["--", "--config", self.config, "--stats-file", self.stats_file,
                                         "--stats-interval", "0.1", "--run-dir", RUN_DIR, "--socket", self.socket]

    def start(self, wait=True):
        cmd = self.command()
        self.proc = subprocess.Popen(cmd, stdout=open(self.out, "w"), stderr=open(self.log, "w"))
        if wait:
            self.wait_log("running:", 20)
            self.wait_for(lambda s: True, 5)
        return self

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def wait_log(self, needle, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.log_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"meshplane exited with {self.proc.returncode}:\n{self.log_text()}")
            time.sleep(0.05)
        raise TimeoutError(f"'{needle}' not in meshplane log after {timeout}s:\n{self.log_text()}")

    def stats(self):
        for _ in range(50):
            try:
                with open(self.stats_file) as f:
                    return json.load(f)
            except (FileNotFoundError, json.JSONDecodeError):
                time.sleep(0.05)
        raise RuntimeError("no stats file")

    def wait_for(self, predicate, timeout=5.0):
        """Polls the stats file until predicate(stats) holds; returns the stats."""
        deadline = time.time() + timeout
        while True:
            s = self.stats() if os.path.exists(self.stats_file) else None
            if s is not None and predicate(s):
                return s
            if time.time() > deadline:
                raise TimeoutError(f"condition not met; last stats: {json.dumps(s)[:2000]}")
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def meshctl(self, *args, check=False, timeout=30):
        """Runs meshctl against this daemon's socket."""
        return sh([MESHCTL, "--socket", self.socket] + [str(a) for a in args], check=check, timeout=timeout)

    def events(self):
        """Every event the daemon keeps (up to 64), oldest first: the newest's sequence number says how many."""
        newest = json.loads(self.meshctl("-o", "json", "events", "--replay", "1", "--count", "1", check=True).stdout)
        n = str(min(newest["sequence"], 64))
        out = self.meshctl("-o", "json", "events", "--replay", n, "--count", n, check=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def output(self):
        with open(self.out) as f:
            return f.read()
