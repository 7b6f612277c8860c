#!/usr/bin/python3
"""Runs the in-process benchmarks (no PMD: the pipeline, the load balancer,
access rules, ESP, the flow table, Maglev builds, policy changes) and puts their output, as
printed, in a generated section of docs/benchmarks.md. The hand-written
sections above it explain the numbers; this one is the latest run.

    bench/inprocess.py"""
import os
import subprocess

from results_doc import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MESHPLANE_BUILD", os.path.join(ROOT, "build"))
RUNS = [("pipeline_bench", ["200000"]), ("lb_bench", ["1000000"]), ("access_bench", ["100000"]), ("esp_bench", ["20000"]),
        ("flow_table_bench", []), ("maglev_bench", []), ("apply_bench", [])]


def main():
    blocks = []
    for binary, args in RUNS:
        r = subprocess.run([os.path.join(BUILD, "bench", binary)] + args, capture_output=True, text=True,
                           timeout=900)
        if r.returncode != 0:
            raise SystemExit(f"{binary} failed:\n{r.stderr[-2000:]}")
        out = "\n".join(line for line in r.stdout.splitlines() if not line.startswith("TELEMETRY"))
        print(out, flush=True)
        blocks.append(f"`build/bench/{binary} {' '.join(args)}`".replace(" `", "`") + f"\n```\n{out}\n```")
    body = "## In-process benchmarks, latest run\n" + "\n\n".join(blocks)
    replace_section("inprocess", body, "bench/inprocess.py")


if __name__ == "__main__":
    main()
