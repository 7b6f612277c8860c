"""Real kernel traffic (ping, ARP, TCP) through a running meshplane."""
import hashlib
import os
import re
import tempfile


def drops(stats, reason):
    return stats["drops"][reason]


def test_ping_through_gateway(topo, gateway):
    r = topo.ns(topo.client, ["ping", "-c", "5", "-i", "0.2", "-W", "2", topo.server_ip], check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0% packet loss" in r.stdout
    assert "ttl=63" in r.stdout, "one router hop decrements TTL by one"


def test_gateway_answers_ping_on_both_addresses(topo, gateway):
    for addr in (topo.gw_client_ip, topo.gw_server_ip):
        r = topo.ns(topo.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", addr], check=False)
        assert r.returncode == 0, f"{addr}: {r.stdout}"
    gateway.wait_for(lambda s: s["icmp_echo_replies"] >= 4)


def test_arp_resolution_both_ways(topo, gateway):
    topo.ns(topo.client, ["ping", "-c", "1", "-W", "2", topo.server_ip])
    # The client learned the gateway's MAC (meshplane answered its ARP request)...
    neigh = topo.ns(topo.client, ["ip", "neigh", "show", topo.gw_client_ip]).stdout
    assert topo.mac(topo.gw_client_if) in neigh.lower(), neigh
    # ...and meshplane resolved both hosts with its own requests/replies.
    s = gateway.wait_for(lambda s: len([n for n in s["neighbours"] if n["state"] == "reachable"]) >= 2)
    macs = {n["address"]: n["mac"].lower() for n in s["neighbours"]}
    assert macs[topo.client_ip] == topo.ns(topo.client, ["cat", f"/sys/class/net/{topo.client_if}/address"]).stdout.strip()
    assert macs[topo.server_ip] == topo.ns(topo.server, ["cat", f"/sys/class/net/{topo.server_if}/address"]).stdout.strip()


def test_static_route_to_prefix_behind_server(topo, gateway):
    r = topo.ns(topo.client, ["ping", "-c", "2", "-i", "0.2", "-W", "2", topo.server_loopback_ip], check=False)
    assert r.returncode == 0, r.stdout


def test_tcp_transfer_integrity(topo, gateway):
    webroot = tempfile.mkdtemp(prefix="mp-web-")
    blob = os.urandom(8 * 1024 * 1024)
    with open(os.path.join(webroot, "blob.bin"), "wb") as f:
        f.write(blob)
    server = topo.http_server(webroot)
    try:
        out = os.path.join(webroot, "got.bin")
        r = topo.fetch(f"http://{topo.server_ip}:8080/blob.bin", out)
        assert r.stdout == "200", r.stderr
        with open(out, "rb") as f:
            got = f.read()
        assert len(got) == len(blob)
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(blob).hexdigest()
    finally:
        server.kill()
        server.wait()


def test_ttl_exceeded(topo, gateway):
    before = drops(gateway.stats(), "ttl_expired")
    r = topo.ns(topo.client, ["ping", "-c", "1", "-t", "1", "-W", "2", topo.server_ip], check=False)
    assert r.returncode != 0
    assert re.search(rf"From {re.escape(topo.gw_client_ip)} .*Time to live exceeded", r.stdout), r.stdout
    gateway.wait_for(lambda s: drops(s, "ttl_expired") == before + 1)


def test_no_route_gets_net_unreachable(topo, gateway):
    before = drops(gateway.stats(), "no_route")
    r = topo.ns(topo.client, ["ping", "-c", "1", "-W", "2", "10.99.0.1"], check=False)
    assert r.returncode != 0
    assert "Destination Net Unreachable" in r.stdout, r.stdout
    gateway.wait_for(lambda s: drops(s, "no_route") >= before + 1)


def test_udp_to_gateway_gets_port_unreachable(topo, gateway):
    script = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"s.connect(('{topo.gw_client_ip}', 9))\n"
        "s.settimeout(2)\n"
        "s.send(b'x')\n"
        "try:\n"
        "    s.recv(10)\n"
        "    print('no error')\n"
        "except ConnectionRefusedError:\n"
        "    print('refused')\n"
    )
    r = topo.ns(topo.client, ["/usr/bin/python3", "-c", script])
    assert r.stdout.strip() == "refused", "the kernel turns ICMP port unreachable into ECONNREFUSED"
