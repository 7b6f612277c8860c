"""A backend that names itself, for the load-balancing tests and the demo.

HTTP (threaded): GET / answers "<name>\n"; GET /stream?bytes=N&rate=R sends N
bytes at about R bytes/s (a long transfer); every answer carries X-Backend.
UDP: answers every datagram with "<name>".
Usage: named_server.py NAME [--http ADDR:PORT ...] [--udp ADDR:PORT ...]
"""
import argparse
import http.server
import socket
import socketserver
import threading
import time
import urllib.parse


def http_handler(name):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path == "/stream":
                q = urllib.parse.parse_qs(url.query)
                total, rate = int(q["bytes"][0]), int(q.get("rate", ["0"])[0])
                self.send_response(200)
                self.send_header("X-Backend", name)
                self.send_header("Content-Length", str(total))
                self.end_headers()
                chunk = bytes((i * 7) & 0xff for i in range(65536))
                start, sent = time.time(), 0
                while sent < total:
                    n = min(len(chunk), total - sent)
                    self.wfile.write(chunk[:n])
                    sent += n
                    if rate:
                        ahead = sent / rate - (time.time() - start)
                        if ahead > 0:
                            time.sleep(ahead)
                return
            body = f"{name}\n".encode()
            self.send_response(200)
            self.send_header("X-Backend", name)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


def udp_loop(name, addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        _, peer = s.recvfrom(2048)
        s.sendto(name.encode(), peer)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("name")
    p.add_argument("--http", action="append", default=[])
    p.add_argument("--udp", action="append", default=[])
    a = p.parse_args()
    threads = []
    for spec in a.http:
        addr, port = spec.rsplit(":", 1)
        srv = Server((addr, int(port)), http_handler(a.name))
        threads.append(threading.Thread(target=srv.serve_forever, daemon=True))
    for spec in a.udp:
        addr, port = spec.rsplit(":", 1)
        threads.append(threading.Thread(target=udp_loop, args=(a.name, addr, int(port)), daemon=True))
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
