import SluiceCore

/// The bodies notifiers send.
enum AlertPayload {
    /// `{"status","rule","group":{...},"count","suppressed","window","first","last","samples":[events],"sink","host"}`
    static func json(_ notification: AlertNotification, sink: String, host: String) -> [UInt8] {
        var writer = ByteWriter(capacity: 1024)
        writer.append("{\"status\":")
        writer.appendJSONString(notification.status.rawValue)
        writer.append(",\"rule\":")
        writer.appendJSONString(notification.rule)
        writer.append(",\"group\":{")
        for (index, field) in notification.group.enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.appendJSONString(field.field)
            writer.append(UInt8(ascii: ":"))
            writer.appendJSONString(field.value)
        }
        writer.append("},\"count\":")
        writer.append(decimal: notification.count)
        writer.append(",\"suppressed\":")
        writer.append(decimal: notification.suppressed)
        writer.append(",\"window\":")
        writer.appendJSONString(durationText(notification.windowNanoseconds))
        for (key, value) in [("first", notification.firstTimestampMilliseconds), ("last", notification.lastTimestampMilliseconds)] {
            guard let value else { continue }
            writer.append(",\"\(key)\":")
            writer.appendJSONString(EventTimestamp.format(value))
        }
        writer.append(",\"samples\":[")
        // Samples are events Sluice encoded: valid JSON objects already.
        writer.append(notification.samples.joined(separator: ","))
        writer.append("],\"sink\":")
        writer.appendJSONString(sink)
        writer.append(",\"host\":")
        writer.appendJSONString(host)
        writer.append("}")
        return Array(writer.bytes)
    }

    /// `{"text": template}` with `{status}`, `{rule}`, `{count}`, `{suppressed}`, `{window}`,
    /// `{group}`, `{first}`, `{last}` and `{any.field}` of the last sample event filled in.
    static func slack(_ notification: AlertNotification, template: String) -> [UInt8] {
        var writer = ByteWriter(capacity: 512)
        writer.append("{\"text\":")
        writer.appendJSONString(render(template, notification))
        writer.append("}")
        return Array(writer.bytes)
    }

    static func render(_ template: String, _ notification: AlertNotification) -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            output += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            output += value(of: name, notification) ?? "{\(name)}"
            rest = rest[rest.index(after: close)...]
        }
        return output + rest
    }

    private static func value(of name: String, _ notification: AlertNotification) -> String? {
        switch name {
        case "status": return notification.status.rawValue
        case "rule": return notification.rule
        case "count": return "\(notification.count)"
        case "suppressed": return "\(notification.suppressed)"
        case "window": return durationText(notification.windowNanoseconds)
        case "group": return notification.groupDescription
        case "first": return notification.firstTimestampMilliseconds.map(EventTimestamp.format)
        case "last": return notification.lastTimestampMilliseconds.map(EventTimestamp.format)
        default:
            if let field = notification.group.first(where: { $0.field == name }) { return field.value }
            guard let event = notification.samples.last else { return nil }
            let path = name.split(separator: ".").map { Array($0.utf8) }
            let bytes = Array(event.utf8)
            return bytes.withUnsafeBytes { object -> String? in
                guard let range = JSONLookup.value(atPath: path, inObject: object) else { return nil }
                let raw = UnsafeRawBufferPointer(rebasing: object[range])
                return String(decoding: JSONLookup.stringContent(raw) ?? raw, as: UTF8.self)
            }
        }
    }

    static func durationText(_ nanoseconds: UInt64) -> String {
        let units: [(String, UInt64)] = [("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000)]
        if nanoseconds == 0 { return "0s" }
        for (suffix, scale) in units where nanoseconds % scale == 0 { return "\(nanoseconds / scale)\(suffix)" }
        return "\(nanoseconds / 1_000_000)ms"
    }
}
