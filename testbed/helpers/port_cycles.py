"""Detaches and attaches a gateway port CYCLES times through meshctl, and
after each attach waits until traffic crosses it again (a ping to TARGET, up
to 10 tries of 1 s). Prints {"cycles": N, "failures": [...]}.
Usage: port_cycles.py MESHCTL SOCKET PORT CYCLES TARGET"""
import json
import subprocess
import sys


def main():
    meshctl, socket, port, cycles, target = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    failures = []
    for i in range(cycles):
        for action, state in (("detach", "detached"), ("attach", None)):
            r = subprocess.run([meshctl, "--socket", socket, "-o", "json", "ports", action, port],
                               capture_output=True, text=True)
            if r.returncode != 0 or (state and json.loads(r.stdout)["state"] != state):
                failures.append(f"cycle {i} {action}: {r.returncode} {r.stdout} {r.stderr}")
        for _ in range(10):
            if subprocess.run(["ping", "-c", "1", "-W", "1", target], capture_output=True).returncode == 0:
                break
        else:
            failures.append(f"cycle {i}: no traffic through the port after attach")
    print(json.dumps({"cycles": cycles, "failures": failures}))


if __name__ == "__main__":
    main()
