"""IP-in-IP (RFC 2003) decapsulation for a backend, in user space.

This machine's kernel is built without CONFIG_NET_IPIP (no tunl0), so the
backend end of the direct-return tunnel is this program: a raw socket takes
every protocol-4 packet addressed to the host (the kernel then sends no
"protocol unreachable"), strips the outer header and writes the inner packet
into a TUN device, where the kernel receives it as if from a tunnel: the VIP
on lo accepts it and the answer leaves by the default route, straight to the
client. Usage: ipip_decap.py TUN_NAME (run inside the backend namespace).
"""
import fcntl
import os
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def main():
    name = sys.argv[1]
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IPIP)
    print("ready", flush=True)
    while True:
        packet = raw.recv(65535)  # raw IPv4 sockets hand over the outer header too
        ihl = (packet[0] & 0x0F) * 4
        inner = packet[ihl:]
        if len(inner) >= 20 and inner[0] >> 4 == 4:
            os.write(tun, inner)


if __name__ == "__main__":
    main()
