#!/usr/bin/env python3
"""Feeds an OTLP/HTTP logs receiver (Sluice's `otlp` source) with one pre-encoded request of
RECORDS log records, sent REQUESTS times over CONNECTIONS keep-alive connections at once, the
way a busy collector would; a 503 (the receiver holding back) is retried after its
Retry-After. Prints the records sent and the seconds it took, as JSON.

    otlp_load.py PORT [REQUESTS] [RECORDS] [CONNECTIONS]

Needs the official opentelemetry-proto package (`.ci/setup --tests` puts it in
.build/otel-venv).
"""
import http.client
import json
import sys
import threading
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

port = int(sys.argv[1])
requests = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
records = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
connections = int(sys.argv[4]) if len(sys.argv) > 4 else 4

request = ExportLogsServiceRequest()
resource_logs = request.resource_logs.add()
for key, value in (("service.name", "checkout"), ("host.name", "web-1")):
    attribute = resource_logs.resource.attributes.add()
    attribute.key = key
    attribute.value.string_value = value
scope_logs = resource_logs.scope_logs.add()
scope_logs.scope.name = "shop.orders"
for index in range(records):
    record = scope_logs.log_records.add()
    record.time_unix_nano = 1_764_583_200_000_000_000 + index * 1_000_000
    record.severity_number = 9
    record.severity_text = "INFO"
    record.body.string_value = "request completed"
    for key, value in (("path", "/api/v1/orders/12345"), ("method", "GET")):
        attribute = record.attributes.add()
        attribute.key = key
        attribute.value.string_value = value
    status = record.attributes.add()
    status.key = "status"
    status.value.int_value = 200
    duration = record.attributes.add()
    duration.key = "dur_ms"
    duration.value.double_value = 12.5
    record.trace_id = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736")
    record.span_id = bytes.fromhex("00f067aa0ba902b7")
body = request.SerializeToString()
headers = {"Content-Type": "application/x-protobuf"}
remaining = [requests]
lock = threading.Lock()
retries = [0]


def worker():
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while True:
        with lock:
            if remaining[0] == 0:
                break
            remaining[0] -= 1
        while True:
            connection.request("POST", "/v1/logs", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                break
            if response.status != 503:
                raise SystemExit(f"status {response.status}")
            with lock:
                retries[0] += 1
            time.sleep(float(response.getheader("Retry-After", "1")) / 20)
    connection.close()


started = time.time()
threads = [threading.Thread(target=worker) for _ in range(connections)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"records": requests * records, "seconds": time.time() - started, "body_bytes": len(body), "retries_503": retries[0]}), flush=True)
