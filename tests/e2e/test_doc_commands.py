"""Every command shown in README.md and docs/ runs, so an example cannot rot.

Commands are extracted, not copied: each line of a ```sh block (an example:
it must succeed), and each inline `meshctl ...`, `meshplane ...`,
`build/bench/...` or `./scripts/...` span (meshctl/meshplane spans are often
synopses: placeholders such as SERVICE are filled in, [optional] parts tried
without and with, and the daemon may refuse what the filled-in values ask,
but the command line must parse). They run in document order in one session,
as a reader would type them: the README's `meshplane` starts the gateway the
later `meshctl` lines talk to, on the demo's interfaces with three backends.
A few commands cannot run inside the test suite; ELSEWHERE names what runs
each of them instead, and the test checks that it does.
"""
import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from testbed import ROOT, Topology

DOCS = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))

# Commands not run here: (pattern, file that runs it instead, text that file must contain, why).
ELSEWHERE = [
    (r"^\./scripts/test\.sh$", ".ci/run", "scripts/test.sh", "CI runs it; running it here would recurse"),
    (r"^\./scripts/fuzz\.sh 30$", "tests/meson.build", "find_program('../scripts/fuzz.sh'), args : ['30']",
     "the test suite's fuzz suite runs it (30 s for each of its targets: longer than a command here may take)"),
    (r"^\./scripts/bench\.sh$", "tests/e2e/test_benchmark_suite.py", "bench/run.py",
     "rewrites docs/benchmarks.md for 5+ minutes; its memif suite runs in test_benchmark_suite, its in-process "
     "benchmarks (build/bench/*) here"),
    (r"^pktgen ", "tests/e2e/test_pktgen_script.py", "meshplane.lua",
     "pktgen-dpdk is not packaged for Debian; the script runs against a stand-in of its Lua API"),
    (r"^meshplane .* -a [0-9a-f]{4}:", "docs/pktgen.md", "meshplane --check config/examples/bench-bare-metal.yaml",
     "needs two NIC ports; the policy it names is checked by the --check line, which runs here"),
]

# A key file as a reader keeps one: hex key and salt, readable by its owner only.
KEY_FILE = os.path.join(tempfile.mkdtemp(prefix="mp-docs-key-"), "peer.key")
with open(os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT, 0o600), "w") as _f:
    _f.write("0x" + "ab" * 20 + "\n")

# Synopsis placeholders, in order (the flag decides what S, N, D and A mean).
PLACEHOLDERS = [
    (r"--key-file FILE\b", f"--key-file {KEY_FILE}"), (r"--spi (SPI|NEW)\b", "--spi 0x4001"),
    (r"--replace (SPI|OLD)\b", "--replace 0x4000"), (r"--direction D\b", "--direction outbound"),
    (r"--algorithm A\b", "--algorithm aes-gcm-256"), (r"--replay-window N\b", "--replay-window 64"),
    (r"--(soft|hard)-seconds T\b", r"--\1-seconds 60"), (r"\bPEER\b", "site-b"),
    (r"--subset S\b", "--subset v1"), (r"--interval S\b", "--interval 0.5"), (r"--timeout S\b", "--timeout 2"),
    (r"--weight N\b", "--weight 2"),
    (r"--replay N\b", "--replay 2"), (r"--count N\b", "--count 2"), (r"ADDR\[:PORT\]", "10.10.2.12"),
    (r"\bSERVICE\b", "web"), (r"\bFILE\b", "policy.yaml"), (r" N$", " 2"), (r"\bPORT\b", "server"),
]


def extract():
    """[(where, command, kind)]: kind 'example' (a ```sh line) or 'synopsis' (an inline span)."""
    found = []
    for doc in DOCS:
        text = open(os.path.join(ROOT, doc)).read()
        for block in re.finditer(r"^```sh\n(.*?)^```", text, re.S | re.M):
            first = text.count("\n", 0, block.start(1)) + 1
            for i, line in enumerate(block.group(1).splitlines()):
                line = re.sub(r"\s+#\s.*$", "", line).strip()
                for cmd in filter(None, (c.strip() for c in line.split(" ; "))):
                    found.append((f"{doc}:{first + i}", cmd, "example"))
        prose = re.sub(r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S | re.M)
        for span in re.finditer(r"`((?:meshctl|meshplane) [^`]+|(?:build/bench/\w+|\./scripts/\w+\.sh)(?: [^`]*)?)`",
                                prose):
            line = prose.count("\n", 0, span.start()) + 1
            found.append((f"{doc}:{line}", re.sub(r"\s+", " ", span.group(1)), "synopsis"))
    seen = set()  # a command shown twice runs once, where it is first shown
    return [f for f in found if not (f[1] in seen or seen.add(f[1]))]


def variants(cmd):
    """A command with its placeholders filled: without any [optional] part, and with all of them."""
    for pattern, value in PLACEHOLDERS:
        cmd = re.sub(pattern, value, cmd)
    bare = re.sub(r"\s*\[[^\[\]]*\]", "", cmd)
    full = re.sub(r"\[([^\[\]]*)\]", r"\1", cmd)
    return [bare] if bare == full else [bare, full]


COMMANDS = extract()


class Session:
    """What the reader has: a shell's environment and working directory, the
    demo's interfaces and backends, and the gateway once they start it."""

    def __init__(self):
        self.topo = Topology(prefix="mp", backends=3).up()
        self.servers = self.topo.named_servers()
        self.cwd = ROOT  # as the README is read: from the project's root
        self.tmp = tempfile.mkdtemp(prefix="mp-docs-")
        # "policy.yaml" in the docs is the reader's own policy: here, the example's.
        self.policy = os.path.join(self.tmp, "policy.yaml")
        shutil.copy(os.path.join(ROOT, "config", "examples", "load-balancer.yaml"), self.policy)
        self.env = dict(os.environ, PWD=self.cwd)
        self.env.pop("MESHPLANE_SOCKET", None)
        self.daemon = None
        self.daemon_log = os.path.join(self.tmp, "meshplane.log")

    def run(self, cmd, timeout=300):
        return subprocess.run(cmd, shell=True, cwd=self.cwd, env=self.env, text=True, capture_output=True,
                              timeout=timeout, executable="/bin/bash")

    def start_daemon(self, cmd):
        assert self.daemon is None, "the docs start a second gateway"
        self.daemon = subprocess.Popen(cmd, shell=True, cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=open(self.daemon_log, "w"), executable="/bin/bash",
                                       start_new_session=True)
        deadline = time.time() + 30
        while "running:" not in open(self.daemon_log).read():
            assert self.daemon.poll() is None, open(self.daemon_log).read()
            assert time.time() < deadline, open(self.daemon_log).read()
            time.sleep(0.05)

    def stream(self, cmd, until, trigger=None):
        """Runs a command that streams until interrupted; returns its output once `until` is in it."""
        out = os.path.join(self.tmp, "stream.out")
        proc = subprocess.Popen(cmd, shell=True, cwd=self.cwd, env=self.env, stdout=open(out, "w"),
                                stderr=subprocess.STDOUT, executable="/bin/bash", start_new_session=True)
        try:
            deadline = time.time() + 30
            while until not in open(out).read():
                assert proc.poll() is None, f"exited {proc.returncode}: {open(out).read()}"
                assert time.time() < deadline, open(out).read()
                if trigger:
                    trigger()
                time.sleep(0.2)
            assert proc.poll() is None, "a streaming command ended by itself"
            return open(out).read()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)

    def close(self):
        try:
            if self.daemon:
                os.killpg(self.daemon.pid, signal.SIGTERM)
                assert self.daemon.wait(30) == 0, open(self.daemon_log).read()
        finally:
            for p in self.servers:
                p.kill()
                p.wait()
            self.topo.down()


@pytest.fixture(scope="module")
def session():
    s = Session()
    yield s
    s.close()


def test_commands_were_found():
    kinds = {(w.split(":")[0], k) for w, _, k in COMMANDS}
    assert ("README.md", "example") in kinds and ("docs/operations.md", "synopsis") in kinds, kinds
    assert any(c.startswith("meshctl get endpoints web -o json") for _, c, _ in COMMANDS)


def run_example(session, cmd):
    """Runs one command as the reader would; fails with its output unless it succeeded."""
    cmd = re.sub(r"\bpolicy\.yaml\b", session.policy, cmd)
    if m := re.match(r"^export (\w+)=(.*)$", cmd):
        session.env[m.group(1)] = session.run(f"echo {m.group(2)}").stdout.strip()
        return
    words = shlex.split(cmd)
    if words[0] == "meshplane" and not {"--check", "--help", "--metrics-reference"} & set(words):
        session.start_daemon(cmd)
        return
    if words[:2] == ["meshctl", "stats"] and ("--watch" in words or "-w" in words):
        out = session.stream(cmd, until="rates over the last")  # a second reading: it repeats, with rates
        assert out.startswith("policy generation ") and "\npolicy generation " in out, out
        return
    if words[:2] == ["meshctl", "events"] and "--count" not in words:
        # Replays nothing by default: a change made while it watches shows.
        trigger = lambda: session.run(f"meshctl apply -f {session.policy}")  # noqa: E731
        out = session.stream(cmd, until="policy_applied", trigger=trigger)
        assert "generation" in out, out
        return
    r = session.run(cmd)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("where,cmd,kind", COMMANDS, ids=[f"{w} {c}" for w, c, _ in COMMANDS])
def test_doc_command(session, where, cmd, kind):
    for pattern, runner, needle, why in ELSEWHERE:
        if re.search(pattern, cmd):
            text = open(os.path.join(ROOT, runner)).read()
            assert needle in text, f"{where}: `{cmd}` is said to be run by {runner} ({why}), which does not"
            pytest.skip(f"run by {runner}: {why}")
    if kind == "example":
        for variant in variants(cmd):
            run_example(session, variant)
        return
    for variant in variants(cmd):
        words = shlex.split(variant)
        if words[0] != "meshctl" or len(words) == 1 or words[1] not in ("stats", "events") or "--count" in words:
            if words[0] == "meshplane" and "--check" not in words:
                continue  # a synopsis of the start line: the README's example starts it
            r = session.run(re.sub(r"\bpolicy\.yaml\b", session.policy, variant))
            assert r.returncode != 2 and "not expected" not in r.stderr, f"`{variant}`: {r.stderr}"
            if not re.search(r"\b(add|remove|drain|weight|delete)\b", variant):
                assert r.returncode == 0, f"`{variant}`: exit {r.returncode} {r.stderr}"
        else:
            run_example(session, variant)
