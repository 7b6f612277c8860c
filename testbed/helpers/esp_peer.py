#!/usr/bin/python3
"""An ESP peer that is not meshplane: scapy's own ESP with AES-GCM (RFC 4106).

Sends COUNT UDP datagrams from 10.9.0.5 (a host behind this peer) to TARGET:PORT
through the tunnel to GATEWAY, and decrypts what comes back with the other
SA, checking each answer comes from TARGET. With --udp the ESP travels in UDP
4500 (RFC 3948; scapy 2.5.0's own NAT-T header has a wrong length, so the UDP
header is added here). Prints {"sent": N, "answers": [...], "errors": [...]} as JSON.

Usage: esp_peer.py GATEWAY LOCAL TARGET PORT COUNT --out SPI:KEYHEX --in SPI:KEYHEX [--esn] [--udp]
"""
import argparse
import json
import socket
import sys
import time

from scapy.all import IP, UDP, AsyncSniffer, Raw, conf, send
from scapy.layers.ipsec import ESP, SecurityAssociation

conf.verb = 0


def sa(text, gateway, local, esn):
    spi, key = text.split(":")
    return SecurityAssociation(ESP, spi=int(spi, 0), crypt_algo="AES-GCM", crypt_key=bytes.fromhex(key),
                               auth_algo="NULL", tunnel_header=IP(src=local, dst=gateway), esn_en=esn, esn=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gateway")
    ap.add_argument("local")
    ap.add_argument("target")
    ap.add_argument("port", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--in", dest="inbound", required=True)
    ap.add_argument("--esn", action="store_true")
    ap.add_argument("--udp", action="store_true")
    a = ap.parse_args()
    out_sa = sa(a.out, a.gateway, a.local, a.esn)
    in_sa = sa(a.inbound, a.local, a.gateway, a.esn)
    nat_t = None
    if a.udp:  # receive ESP-in-UDP on a socket, so the kernel does not answer port unreachable
        nat_t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        nat_t.bind((a.local, 4500))
        nat_t.settimeout(0.2)
    answers, errors = [], []

    def take(esp_ip):
        try:
            inner = in_sa.decrypt(esp_ip)
        except Exception as e:  # a failed ICV, or garbage
            errors.append(f"decrypt: {e}")
            return
        if inner.src != a.target or UDP not in inner:
            errors.append(f"unexpected inner packet {inner.summary()}")
            return
        answers.append(bytes(inner[UDP].payload).decode(errors="replace"))

    sniffer = None
    if not a.udp:
        sniffer = AsyncSniffer(iface="eth0", filter=f"esp and src host {a.gateway}", prn=lambda p: take(p[IP]),
                               store=False)
        sniffer.start()
        time.sleep(0.5)  # the capture is open before the first packet leaves
    for i in range(a.count):
        inner = IP(src="10.9.0.5", dst=a.target) / UDP(sport=40000 + i, dport=a.port) / Raw(f"ping {i}".encode())
        esp = out_sa.encrypt(inner)
        if a.udp:
            send(IP(src=a.local, dst=a.gateway) / UDP(sport=4500, dport=4500) / Raw(bytes(esp[ESP])))
        else:
            send(esp)
        deadline = time.time() + 2
        got = len(answers) + len(errors)
        while time.time() < deadline and len(answers) + len(errors) == got:
            if not a.udp:
                time.sleep(0.01)
                continue
            try:
                data, _ = nat_t.recvfrom(4096)
            except socket.timeout:
                continue
            take(IP(src=a.gateway, dst=a.local, proto=50) / ESP(data))
    if sniffer:
        sniffer.stop()
    json.dump({"sent": a.count, "answers": answers, "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
