#!/usr/bin/env python3
"""Sends log records to an OTLP/HTTP endpoint with the official OpenTelemetry SDK and its OTLP
exporter (opentelemetry-sdk, opentelemetry-exporter-otlp-proto-http), as an instrumented
service would, then flushes and exits 0 only if the exporter reported success.

    otlp_sdk_sender.py ENDPOINT COUNT gzip|none
"""
import logging
import sys

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

endpoint, count, compression = sys.argv[1], int(sys.argv[2]), sys.argv[3]
results = []


class RecordingExporter(OTLPLogExporter):
    def export(self, batch):
        result = super().export(batch)
        results.append(result)
        return result


provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "service.version": "1.4.2"}))
exporter = RecordingExporter(endpoint=endpoint, compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression)
provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
logger = provider.get_logger("shop.orders", "2.0")
span = SpanContext(trace_id=0x4bf92f3577b34da6a3ce929d0e0e4736, span_id=0x00f067aa0ba902b7, is_remote=False, trace_flags=TraceFlags(1))
context = set_span_in_context(NonRecordingSpan(span))
for index in range(count):
    logger.emit(
        body=f"order {index} placed",
        severity_number=SeverityNumber.WARN if index % 2 else SeverityNumber.INFO,
        severity_text="WARN" if index % 2 else "INFO",
        attributes={"n": index, "ratio": 0.5, "ok": True, "tags": ["a", "b"], "user.id": "u1"},
        context=context,
    )
provider.shutdown()
ok = all(getattr(result, "name", str(result)) == "SUCCESS" for result in results) and len(results) == count
print("sent" if ok else f"failed: {results}", flush=True)
sys.exit(0 if ok else 1)
