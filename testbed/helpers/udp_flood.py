"""A steady UDP stream from the client host to ADDR:PORT over several flows
(one socket each); every datagram is answered by the backend, and the
answers are counted. Prints {"sent": N, "received": M, "seconds": S}, S the
time it took to send them.
Usage: udp_flood.py ADDR PORT RATE SECONDS FLOWS
Sends for SECONDS, or until SIGTERM; then waits for the answers still on
their way (until all are in, or 10 s without a new one)."""
import json
import signal
import socket
import sys
import threading
import time


def main():
    addr, port, rate, seconds, flows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    received = [0] * flows
    done = threading.Event()

    def receive(i):
        socks[i].settimeout(0.2)
        while not done.is_set():
            try:
                socks[i].recv(2048)
                received[i] += 1
            except socket.timeout:
                pass

    threads = [threading.Thread(target=receive, args=(i,)) for i in range(flows)]
    for t in threads:
        t.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sent, start = 0, time.time()
    total = int(rate * seconds)
    while sent < total and not stop.is_set():
        ahead = sent / rate - (time.time() - start)
        if ahead > 0:
            time.sleep(ahead)
        socks[sent % flows].sendto(b"%08d" % sent, (addr, port))
        sent += 1
    seconds = time.time() - start
    last, idle_since = -1, time.time()
    while sum(received) < sent and time.time() - idle_since < 10:
        if sum(received) != last:
            last, idle_since = sum(received), time.time()
        time.sleep(0.05)
    done.set()
    for t in threads:
        t.join()
    print(json.dumps({"sent": sent, "received": sum(received), "seconds": seconds}))


if __name__ == "__main__":
    main()
