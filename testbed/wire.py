"""What crossed a link: tshark captures, ESP fields read back from them, and
the bytes named_server.py's /stream sends (to check a transfer)."""
import contextlib
import hashlib
import subprocess
import time


def stream_digest(size):
    """sha256 of the first `size` bytes named_server.py's /stream sends."""
    chunk = bytes((i * 7) & 0xFF for i in range(65536))
    return hashlib.sha256(chunk * (size // len(chunk)) + chunk[: size % len(chunk)]).hexdigest()


def capture(ns, iface, path):
    """tshark on `iface` in namespace `ns`, writing `path`, until terminated; returns once it captures."""
    p = subprocess.Popen(["ip", "netns", "exec", ns, "tshark", "-i", iface, "-w", path, "-q"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "Capturing on" in line:
            return p
    raise RuntimeError("tshark did not start")


@contextlib.contextmanager
def captured(ns, iface, path):
    """A capture (capture()) for the length of a `with` block; its last frames are in the file after it."""
    cap = capture(ns, iface, path)
    try:
        yield cap
    finally:
        time.sleep(0.5)
        cap.terminate()
        cap.wait(10)


def ip_fields(pcap, *names):
    """The fields `names` (tshark's, e.g. "udp.dstport") of every IPv4 packet in the capture, a list per packet."""
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "ip", "-T", "fields"] + [a for n in names for a in ("-e", n)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def esp_ivs(pcap, src):
    """(SPI, IV) of every ESP packet from `src` in the capture, parsed here (RFC 4303, RFC 3948)."""
    from scapy.all import IP, UDP, PcapNgReader
    seen = []
    for p in PcapNgReader(pcap):
        if IP not in p or p[IP].src != src:
            continue
        if p[IP].proto == 50:
            esp = bytes(p[IP].payload)
        elif UDP in p and p[UDP].dport == 4500:
            esp = bytes(p[UDP].payload)
        else:
            continue
        if len(esp) >= 16:
            seen.append((esp[0:4].hex(), esp[8:16].hex()))
    return seen
