#!/usr/bin/env python3
"""Sends OTLP/HTTP logs requests built by hand (protobuf wire format, no library), several at
once, and prints one JSON object: the status of every request, in order.

    otlp_flood.py PORT --requests N --records R [--body-bytes B] [--concurrency C] [--gzip]

Each request is an ExportLogsServiceRequest with one ResourceLogs, one ScopeLogs and R
LogRecords; with --body-bytes 0 the records are empty (two bytes each: the shape of a request
that is small on the wire and large once decoded), otherwise each has a string body of B bytes
numbered "r<request>-<record>" so a test can find every record once.
"""
import argparse
import gzip
import json
import threading

from http_exchange import exchange


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def record(request, index, body_bytes):
    if body_bytes == 0:
        return field(2, b"")
    text = f"r{request}-{index}-".encode()
    text += b"x" * max(0, body_bytes - len(text))
    any_value = field(1, text)          # AnyValue.string_value
    log_record = field(5, any_value)    # LogRecord.body
    return field(2, log_record)         # ScopeLogs.log_records


def request_body(request, records, body_bytes):
    scope_logs = b"".join(record(request, i, body_bytes) for i in range(records))
    resource_logs = field(2, scope_logs)   # ResourceLogs.scope_logs
    return field(1, resource_logs)         # ExportLogsServiceRequest.resource_logs


def send(port, body, compressed):
    headers = {"Content-Type": "application/x-protobuf"}
    if compressed:
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return exchange(port, lambda connection: connection.request("POST", "/v1/logs", body=body, headers=headers), timeout=300)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--body-bytes", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--gzip", action="store_true")
    arguments = parser.parse_args()
    statuses = [None] * arguments.requests
    next_request = [0]
    lock = threading.Lock()
    # Empty records make every request the same: built once.
    shared = request_body(0, arguments.records, 0) if arguments.body_bytes == 0 else None

    def worker():
        while True:
            with lock:
                index = next_request[0]
                next_request[0] += 1
            if index >= arguments.requests:
                return
            body = shared if shared is not None else request_body(index, arguments.records, arguments.body_bytes)
            statuses[index] = send(arguments.port, body, arguments.gzip)

    threads = [threading.Thread(target=worker) for _ in range(arguments.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"statuses": statuses}), flush=True)


if __name__ == "__main__":
    main()
