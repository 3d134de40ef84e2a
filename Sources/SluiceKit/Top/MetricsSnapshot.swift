/// One scrape of `/metrics`, as name, labels and value, read back from the Prometheus text
/// Sluice writes (one sample per line, no timestamps).
struct MetricsSnapshot {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]
    /// Monotonic nanoseconds when it was taken.
    let takenAtNanoseconds: UInt64

    init(text: String, takenAtNanoseconds: UInt64) {
        self.takenAtNanoseconds = takenAtNanoseconds
        samples = text.split(separator: "\n").compactMap(Self.sample)
    }

    static func sample(_ line: Substring) -> Sample? {
        guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: brace)...].dropLast()
        while let equals = rest.firstIndex(of: "=") {
            let key = String(rest[..<equals].drop { $0 == "," })
            var index = rest.index(equals, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex
            var value = ""
            while index < rest.endIndex, rest[index] != "\"" {
                if rest[index] == "\\", rest.index(after: index) < rest.endIndex {
                    index = rest.index(after: index)
                    value.append(rest[index] == "n" ? "\n" : rest[index])
                } else {
                    value.append(rest[index])
                }
                index = rest.index(after: index)
            }
            labels[key] = value
            rest = index < rest.endIndex ? rest[rest.index(after: index)...] : rest[rest.endIndex...]
        }
        return Sample(name: String(series[..<brace]), labels: labels, value: value)
    }

    /// The values of `name`, by the value of its label `label`.
    func values(_ name: String, by label: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for sample in samples where sample.name == name {
            if let key = sample.labels[label] { values[key, default: 0] += sample.value }
        }
        return values
    }

    /// The value of an unlabelled `name`.
    func value(_ name: String) -> Double? {
        samples.first { $0.name == name && $0.labels.isEmpty }?.value
    }

    /// The names a label takes on a metric, in the order they are served.
    func names(_ name: String, label: String) -> [String] {
        var seen: [String] = []
        for sample in samples where sample.name == name {
            if let value = sample.labels[label], !seen.contains(value) { seen.append(value) }
        }
        return seen
    }
}
