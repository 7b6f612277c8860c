"""wrk, the HTTP load generator, run from the client host of a topology in
the background; its summary parsed when it ends."""
import re
import signal
import subprocess


class Wrk:
    def __init__(self, topo, url, connections, seconds, threads=2):
        self.proc = subprocess.Popen(["ip", "netns", "exec", topo.client, "wrk", f"-t{threads}", f"-c{connections}",
                                      f"-d{seconds}s", "--timeout", "10s", url],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.seconds = seconds

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        """Ends the run early; wrk still prints its summary."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self):
        """{"requests": N, "errors": {"connect": N, "read": N, "write": N, "timeout": N}, "text": wrk's output}"""
        out, _ = self.proc.communicate(timeout=self.seconds + 60)
        assert self.proc.returncode == 0, out
        requests = re.search(r"(\d+) requests in", out)
        assert requests, out
        errors = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
        found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if found:
            errors = dict(zip(errors, map(int, found.groups())))
        return {"requests": int(requests.group(1)), "errors": errors, "text": out}


def established(topo, ns, port, local=False):
    """TCP connections in ESTABLISHED state in namespace `ns` to (or, local, from) `port`."""
    side = "sport" if local else "dport"
    r = topo.ns(ns, ["ss", "-Htn", "state", "established", f"( {side} = :{port} )"])
    return len([line for line in r.stdout.splitlines() if line.strip()])
