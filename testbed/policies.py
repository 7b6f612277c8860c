"""Policy text for tests, the demo and benchmarks: load-balancer sections
built from a few values instead of YAML copied between files.

    lb_policy(service("web", "10.30.0.10", ["10.10.2.11", "10.10.2.12"], drain_seconds=60))

gives the `load_balancer:` and `services:` sections to append to a topology's
policy (Topology.policy(extra))."""
import json


def flow(value):
    """A Python value as YAML flow text: dicts as {k: v}, lists as [a, b]."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, str) and any(c in value for c in "{}[],:#&*!|>'\"%@` $;"):
        return json.dumps(value)  # a JSON string is a YAML double-quoted scalar
    return str(value)


def endpoint(address, **fields):
    """One endpoint: {address: A, weight: W, ...}."""
    return {"address": address, **fields}


def service(name, vip, endpoints, ports=(("tcp", 80, 8080),), **fields):
    """One entry of `services:`. `endpoints`: addresses, or endpoint() dicts;
    `ports`: (protocol, port) or (protocol, port, target_port); other service
    fields (drain_seconds, mode, unknown_port, subsets) as keywords."""
    listed = [{"protocol": p[0], "port": p[1], **({"target_port": p[2]} if len(p) > 2 else {})} for p in ports]
    eps = [e if isinstance(e, dict) else endpoint(e) for e in endpoints]
    text = f"  - name: {name}\n    vip: {vip}\n"
    text += "".join(f"    {k}: {flow(v)}\n" for k, v in fields.items())
    return text + f"    ports: {flow(listed)}\n    endpoints: {flow(eps)}\n"


def lb_policy(*services, flow_capacity=65536, **lb_fields):
    """The load_balancer section (flow_capacity and other fields) and the services."""
    text = f"\nload_balancer:\n  flow_capacity: {flow_capacity}\n"
    text += "".join(f"  {k}: {flow(v)}\n" for k, v in lb_fields.items())
    return text + "services:\n" + "".join(services)


def service_stats(stats, name):
    """One service's entry in a stats document."""
    return next(s for s in stats["services"] if s["name"] == name)
