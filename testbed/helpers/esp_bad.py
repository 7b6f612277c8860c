#!/usr/bin/python3
"""Sends a gateway ESP that must be refused, each kind once, from the peer
namespace, built with scapy's ESP (AES-GCM) on the SA the gateway has for us:
  no_sa           a valid packet under an SPI the gateway does not have
  malformed       an ESP header and nothing else
  auth_failed     the right SPI under the wrong key; and a valid packet with its ICV changed
  replayed        a valid packet sent twice: the first is accepted
  outside_window  a valid packet 4,900 numbers older, now left of the window (with ESN
                  it is taken for the next 2^32 up, RFC 4303 A.2, and fails its ICV)
With --udp the ESP travels in UDP 4500, and an IKE packet (zero non-ESP
marker) and a NAT keepalive are sent too.
Usage: esp_bad.py GATEWAY LOCAL TARGET --sa SPI:KEYHEX [--udp] [--esn]"""
import argparse
import json
import sys

from scapy.all import IP, UDP, Raw, conf, send
from scapy.layers.ipsec import ESP, SecurityAssociation

conf.verb = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gateway")
    ap.add_argument("local")
    ap.add_argument("target")
    ap.add_argument("--sa", required=True)
    ap.add_argument("--udp", action="store_true")
    ap.add_argument("--esn", action="store_true")
    a = ap.parse_args()
    spi, key = a.sa.split(":")
    spi, key = int(spi, 0), bytes.fromhex(key)

    def sa(spi, key):
        return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=key, auth_algo="NULL",
                                   tunnel_header=IP(src=a.local, dst=a.gateway), esn_en=a.esn, esn=0)

    def esp(spi, key, seq):
        inner = IP(src="10.9.0.5", dst=a.target) / UDP(sport=41000, dport=7) / Raw(b"bad input")
        return bytes(sa(spi, key).encrypt(inner, seq_num=seq)[ESP])

    def out(esp_bytes):
        if a.udp:
            send(IP(src=a.local, dst=a.gateway) / UDP(sport=4500, dport=4500) / Raw(esp_bytes))
        else:
            send(IP(src=a.local, dst=a.gateway, proto=50) / Raw(esp_bytes))

    # Numbers far above what the SA has seen, so each packet meets the check it is meant for.
    base = 1_000_000
    sent = {}
    out(esp(spi ^ 0x00ff0000, key, base + 1)); sent["esp_no_sa"] = 1
    out(esp(spi, key, base + 2)[:8]); sent["esp_malformed"] = 1
    out(esp(spi, bytes(b ^ 0x55 for b in key), base + 3))
    tampered = bytearray(esp(spi, key, base + 4))
    tampered[-1] ^= 0x01
    out(bytes(tampered)); sent["esp_auth_failed"] = 2
    good = esp(spi, key, base + 5000)
    out(good)
    out(good); sent["esp_replayed"] = 1
    out(esp(spi, key, base + 100))
    if a.esn:  # RFC 4303 A.2: far left of the window means the next 2^32 up, whose ICV cannot match
        sent["esp_auth_failed"] += 1
    else:
        sent["esp_outside_window"] = 1
    if a.udp:
        send(IP(src=a.local, dst=a.gateway) / UDP(sport=4500, dport=4500) / Raw(b"\x00\x00\x00\x00ike"))
        send(IP(src=a.local, dst=a.gateway) / UDP(sport=4500, dport=4500) / Raw(b"\xff"))
        sent["ike_not_served"] = sent["nat_keepalive"] = 1
    json.dump(sent, sys.stdout)


if __name__ == "__main__":
    main()
