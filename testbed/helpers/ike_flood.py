"""IKE_SA_INIT from spoofed sources, as fast as it goes: strongSwan's own
first message (tests/fuzz/seeds/ike_message) with a fresh SPIi each time,
sent from random addresses in 198.51.100.0/24 to ADDR:500 over a raw socket.
Usage: ike_flood.py ADDR SECONDS. Prints {"sent": N, "seconds": S}."""
import json
import os
import random
import socket
import struct
import sys
import time

SEED = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fuzz", "seeds", "ike_message",
                    "strongswan_ike_sa_init.bin")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    addr, seconds = sys.argv[1], float(sys.argv[2])
    ike = bytearray(open(SEED, "rb").read())
    dst = socket.inet_aton(addr)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent, start = 0, time.time()
    while time.time() - start < seconds:
        ike[0:8] = random.randbytes(8)
        src = bytes([198, 51, 100, random.randint(1, 254)])
        udp = struct.pack("!HHHH", 500, 500, 8 + len(ike), 0) + ike
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, len(udp))
        udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp)) + udp[8:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), sent & 0xFFFF, 0, 64, socket.IPPROTO_UDP, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        sock.sendto(ip + udp, (addr, 0))
        sent += 1
    print(json.dumps({"sent": sent, "seconds": time.time() - start}))


if __name__ == "__main__":
    main()
