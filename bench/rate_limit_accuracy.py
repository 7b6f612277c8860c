#!/usr/bin/python3
"""How close a service's packet limit holds to its configured rate with real
traffic: a client in a namespace floods a UDP service behind meshplane at
ten times the limit for a few seconds; the backends answer what the gateway
let through. Prints admitted packets per second against the limit.

    bench/rate_limit_accuracy.py [LIMIT ...]   (default 200 1000 2000)"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from testbed import lb_policy, lb_rig, service  # noqa: E402
from testbed.paths import UDP_FLOOD  # noqa: E402


def main():
    limits = [int(a) for a in sys.argv[1:]] or [200, 1000, 2000]
    for limit in limits:
        policy = lb_policy(service("dns", "10.30.0.53", ["10.10.2.11"], ports=[("udp", 53, 5353)],
                                   rate_limit={"packets_per_second": limit}))
        with lb_rig("mprb", policy, backends=1, udp_ports=(5353,)) as (topo, _):
            r = topo.ns(topo.client, ["/usr/bin/python3", UDP_FLOOD, "10.30.0.53", "53", str(limit * 10), "4", "4"],
                        timeout=120)
            flood = json.loads(r.stdout)
            rate = flood["received"] / flood["seconds"]
            print(f"limit {limit:6} pps: offered {flood['sent'] / flood['seconds']:8.0f} pps, admitted {rate:8.1f} pps "
                  f"({100 * rate / limit:5.1f}% of the limit) over {flood['seconds']:.2f} s", flush=True)


if __name__ == "__main__":
    main()
