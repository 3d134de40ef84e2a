extension EventEncoder {
    /// Syslog header fields: `facility` and `severity` by name, `level` from the severity,
    /// `hostname`, `appname`, `procid`, `msgid` where present, `structured_data` as an object of
    /// objects (`{"id": {"param": "value"}}`), and `message`.
    mutating func encodeSyslog(_ message: SyslogMessage, in text: UnsafeRawBufferPointer, into batch: inout EventBatchBuilder) {
        let level = EventLevel.fromSyslogSeverity(message.severity)
        batch.ndjson.append(UInt8(ascii: "{"))
        writeTimestampField(message.timestampMilliseconds, into: &batch)
        batch.ndjson.append(",\"level\":\"")
        batch.ndjson.append(level.name)
        batch.ndjson.append("\",\"facility\":")
        batch.ndjson.appendJSONString(SyslogParser.facilityNames[message.facility])
        batch.ndjson.append(",\"severity\":")
        batch.ndjson.appendJSONString(SyslogParser.severityNames[message.severity])
        for (name, range) in [("hostname", message.hostname), ("appname", message.appname), ("procid", message.procid), ("msgid", message.msgid)] {
            guard let range, !range.isEmpty else { continue }
            batch.ndjson.append(UInt8(ascii: ","))
            batch.ndjson.appendJSONString(name)
            batch.ndjson.append(UInt8(ascii: ":"))
            batch.ndjson.appendJSONString(UnsafeRawBufferPointer(rebasing: text[range]))
        }
        if let data = message.structuredData {
            batch.ndjson.append(",\"structured_data\":")
            writeStructuredData(UnsafeRawBufferPointer(rebasing: text[data]), into: &batch)
        }
        batch.ndjson.append(",\"message\":")
        batch.ndjson.appendJSONString(UnsafeRawBufferPointer(rebasing: text[message.message]))
        closeObject(metadataForSyslog, collisions: 0, into: &batch)
        batch.endEvent(level: level, timestampMilliseconds: message.timestampMilliseconds ?? readTimeMilliseconds)
    }

    /// `[id a="1" b="x\"y"][id2]` as `{"id":{"a":"1","b":"x\"y"},"id2":{}}`.
    private mutating func writeStructuredData(_ data: UnsafeRawBufferPointer, into batch: inout EventBatchBuilder) {
        batch.ndjson.append(UInt8(ascii: "{"))
        var index = 0
        var firstElement = true
        while index < data.count, data[index] == UInt8(ascii: "[") {
            index += 1
            let idStart = index
            while index < data.count, data[index] != 0x20, data[index] != UInt8(ascii: "]") { index += 1 }
            if !firstElement { batch.ndjson.append(UInt8(ascii: ",")) }
            firstElement = false
            batch.ndjson.appendJSONString(UnsafeRawBufferPointer(rebasing: data[idStart..<index]))
            batch.ndjson.append(":{")
            var firstParam = true
            while index < data.count, data[index] != UInt8(ascii: "]") {
                while index < data.count, data[index] == 0x20 { index += 1 }
                let nameStart = index
                while index < data.count, data[index] != UInt8(ascii: "="), data[index] != UInt8(ascii: "]") { index += 1 }
                guard index + 1 < data.count, data[index] == UInt8(ascii: "="), data[index + 1] == UInt8(ascii: "\"") else { break }
                let name = UnsafeRawBufferPointer(rebasing: data[nameStart..<index])
                index += 2
                scratch.removeAll()
                while index < data.count, data[index] != UInt8(ascii: "\"") {
                    if data[index] == UInt8(ascii: "\\"), index + 1 < data.count { index += 1 }
                    scratch.append(data[index])
                    index += 1
                }
                index += 1
                if !firstParam { batch.ndjson.append(UInt8(ascii: ",")) }
                firstParam = false
                batch.ndjson.appendJSONString(name)
                batch.ndjson.append(UInt8(ascii: ":"))
                batch.ndjson.appendJSONString(scratch.bytes)
            }
            batch.ndjson.append(UInt8(ascii: "}"))
            index += 1
        }
        batch.ndjson.append(UInt8(ascii: "}"))
    }
}
