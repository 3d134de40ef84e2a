#!/usr/bin/env python3
"""An OTLP/HTTP logs receiver for Sluice's tests, built on the official OpenTelemetry protobuf
classes (opentelemetry-proto): every request is decoded with them (protobuf, or OTLP/JSON,
gzipped or not) and written, normalised, as one JSON line per request to the output file.

    otlp_receiver.py OUTPUT [STATUS...]

STATUS is what to answer to successive requests (after the list runs out, 200): a number, or
`503:retry-after=1`, or `partial=N` (200 with a partial_success rejecting N records). The port
it listens on (loopback, chosen by the kernel) is printed on the first line of stdout.
"""
import base64
import gzip
import http.server
import json
import socket
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse

output_path = sys.argv[1]
plan = list(sys.argv[2:])


def any_value(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return {"bytes": value.bytes_value.hex()}
    result = getattr(value, kind)
    if kind == "int_value":
        return {"int": result}
    if kind == "double_value":
        return {"double": result}
    return result


def normalised(request):
    resources = []
    for resource_logs in request.resource_logs:
        records = []
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                records.append({
                    "scope": scope_logs.scope.name,
                    "time": record.time_unix_nano,
                    "observed": record.observed_time_unix_nano,
                    "severityNumber": record.severity_number,
                    "severityText": record.severity_text,
                    "body": any_value(record.body) if record.HasField("body") else "<none>",
                    "attributes": {kv.key: any_value(kv.value) for kv in record.attributes},
                    "traceId": record.trace_id.hex(),
                    "spanId": record.span_id.hex(),
                    "flags": record.flags,
                })
        resources.append({
            "resource": {kv.key: any_value(kv.value) for kv in resource_logs.resource.attributes},
            "records": records,
        })
    return resources


def decode(body, content_type):
    request = ExportLogsServiceRequest()
    if content_type == "application/json":
        document = json.loads(body)
        # OTLP/JSON writes ids in hex where protobuf's canonical JSON has base64.
        for resource_logs in document.get("resourceLogs", []):
            for scope_logs in resource_logs.get("scopeLogs", []):
                for record in scope_logs.get("logRecords", []):
                    for key in ("traceId", "spanId"):
                        if key in record:
                            record[key] = base64.b64encode(bytes.fromhex(record[key])).decode()
        json_format.ParseDict(document, request)
    else:
        request.ParseFromString(body)
    return request


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
        # client's delayed ACK (40 ms), and every request would take that long.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        content_type = self.headers.get("Content-Type", "")
        step = plan.pop(0) if plan else "200"
        entry = {"path": self.path, "contentType": content_type, "gzip": self.headers.get("Content-Encoding") == "gzip",
                 "authorization": self.headers.get("Authorization"), "answer": step}
        try:
            entry["resourceLogs"] = normalised(decode(body, content_type))
        except Exception as error:  # an undecodable body is a test failure, recorded as such
            entry["error"] = repr(error)
        with open(output_path, "a") as output:
            output.write(json.dumps(entry) + "\n")
        headers = {}
        response = ExportLogsServiceResponse()
        if step.startswith("partial="):
            status = 200
            response.partial_success.rejected_log_records = int(step.split("=")[1])
            response.partial_success.error_message = "2 records had no body"
        else:
            status, _, option = step.partition(":")
            status = int(status)
            if option.startswith("retry-after="):
                headers["Retry-After"] = option.split("=")[1]
        if content_type == "application/json":
            payload = json_format.MessageToJson(response).encode()
        else:
            payload = response.SerializeToString()
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
