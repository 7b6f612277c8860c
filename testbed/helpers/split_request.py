"""Sends one request over TCP in pieces of a given size, each its own
segment (TCP_NODELAY, and each piece is acknowledged before the next is
written: the kernel cannot merge them), then reads the answer.

Usage: split_request.py HOST PORT REQUEST PIECE
REQUEST: the bytes to send, with \\r\\n escapes; PIECE: bytes per segment.
Prints JSON: {"outcome": "answered" | "reset" | "closed" | "timeout", "first_line": ..., "segments": N}
"""
import json
import select
import socket
import struct
import sys
import time

TCP_INFO_UNACKED = 24  # offset of tcpi_unacked in struct tcp_info


TCP_CLOSE = 7


def unacked(s):
    """Bytes in flight; a connection the peer reset raises."""
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    if info[0] == TCP_CLOSE:
        raise ConnectionResetError("reset while sending")
    return struct.unpack_from("<I", info, TCP_INFO_UNACKED)[0]


def wait_acked(s, timeout=5.0):
    deadline = time.monotonic() + timeout
    while unacked(s):
        if time.monotonic() > deadline:
            raise TimeoutError("a piece was not acknowledged")
        select.select([], [], [], 0.001)


def main():
    host, port, request, piece = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    data = request.encode().decode("unicode_escape").encode("latin-1")
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    segments = 0
    outcome, answer = "answered", b""
    try:
        for at in range(0, len(data), piece):
            s.sendall(data[at:at + piece])
            segments += 1
            wait_acked(s)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        if not answer:
            outcome = "closed"
    except ConnectionResetError:
        outcome = "reset"
    except (socket.timeout, TimeoutError):
        outcome = "timeout"
    first = answer.split(b"\r\n", 1)[0].decode("latin-1") if answer else ""
    print(json.dumps({"outcome": outcome, "first_line": first, "segments": segments}))


if __name__ == "__main__":
    main()
