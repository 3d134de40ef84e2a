#!/usr/bin/env python3
"""A minimal Elasticsearch bulk endpoint for benchmarks: reads each request body and answers
that every item was indexed, without parsing or decompressing (so it costs the sender, not
the benchmark). Prints requests and bytes received on SIGTERM.

    fake_bulk_server.py PORT
"""
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

stats = {"requests": 0, "bytes": 0}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
        # client's delayed ACK (40 ms), and every request would take that long.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.reply(b'{"name":"fake","version":{"number":"8.13.0"}}')

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        with lock:
            stats["requests"] += 1
            stats["bytes"] += length
        self.reply(b'{"took":1,"errors":false,"items":[]}')

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)

    def stop(*_):
        print(f"{stats['requests']} {stats['bytes']}", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
