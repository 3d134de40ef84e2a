#!/usr/bin/env python3
"""Sends hostile requests to an OTLP/HTTP logs receiver and prints, as one JSON object, the
status each one got; the last case is a valid request (built with the official classes), to
show the receiver still serves.

    otlp_hostile_client.py PORT
"""
import gzip
import json
import sys

from http_exchange import exchange

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

port = int(sys.argv[1])


def valid_request(body_text):
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.body.string_value = body_text
    record.severity_number = 9
    return request.SerializeToString()


def nested(depth):
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    value = record.body
    for _ in range(depth):
        member = value.kvlist_value.values.add()
        member.key = "k"
        value = member.value
    value.string_value = "deep"
    return request.SerializeToString()


def send(method, path, body=b"", headers=None):
    return exchange(port, lambda connection: connection.request(method, path, body=body, headers=headers or {}))


def send_chunked(path, body, transfer_encoding):
    """A chunked request whose Transfer-Encoding header says `transfer_encoding`."""
    def send_request(connection):
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/x-protobuf")
        connection.putheader("Transfer-Encoding", transfer_encoding)
        connection.endheaders()
        connection.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    return exchange(port, send_request)


protobuf = {"Content-Type": "application/x-protobuf"}
good = valid_request("still serving")
# A string field whose declared length is 1 GiB, with a few bytes behind it.
huge_length = bytes([0x0A]) + bytes([0x80, 0x80, 0x80, 0x80, 0x04]) + b"abc"
invalid_utf8 = valid_request("x").replace(b"x", b"\xff")
bomb = gzip.compress(b"\0" * (64 << 20))

statuses = {
    "truncated": send("POST", "/v1/logs", good[: len(good) // 2], protobuf),
    "wrong_wire_type": send("POST", "/v1/logs", bytes([0x08, 0x01]), protobuf),
    "nested_100_deep": send("POST", "/v1/logs", nested(100), protobuf),
    "declared_1_gib": send("POST", "/v1/logs", huge_length, protobuf),
    "invalid_utf8": send("POST", "/v1/logs", invalid_utf8, protobuf),
    "gzip_bomb": send("POST", "/v1/logs", bomb, {**protobuf, "Content-Encoding": "gzip"}),
    "over_max_body": send("POST", "/v1/logs", b"\0" * (9 << 20), protobuf),
    "not_json": send("POST", "/v1/logs", b"{nope", {"Content-Type": "application/json"}),
    "text_plain": send("POST", "/v1/logs", b"hello", {"Content-Type": "text/plain"}),
    "brotli": send("POST", "/v1/logs", good, {**protobuf, "Content-Encoding": "br"}),
    "all_zero_1_mib": send("POST", "/v1/logs", b"\0" * (1 << 20), protobuf),
    "gzip_chunked_transfer": send_chunked("/v1/logs", gzip.compress(good), "gzip, chunked"),
    "chunked_transfer": send_chunked("/v1/logs", good, "chunked"),
    "get": send("GET", "/v1/logs"),
    "traces_path": send("POST", "/v1/traces", good, protobuf),
    "valid_after_all_that": send("POST", "/v1/logs", good, protobuf),
}
print(json.dumps(statuses), flush=True)
