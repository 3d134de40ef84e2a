import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// One libFuzzer entry point for several targets, chosen by `SLUICE_FUZZ_TARGET`:
///
/// - `encode`: bytes framed into lines (newline or octet counting, by the first byte) and
///   encoded in each input format; every event must be one valid JSON object.
/// - `scanner`: the JSON object scanner on raw bytes.
/// - `expression`: the `where` language parser, and evaluation of what parses.
///
/// A failed property stops the process (`preconditionFailure`), which libFuzzer reports with
/// the input that caused it.
enum FuzzTarget: String {
    case encode, scanner, expression

    static let selected: FuzzTarget = {
        let name = getenv("SLUICE_FUZZ_TARGET").map { String(cString: $0) } ?? "encode"
        guard let target = FuzzTarget(rawValue: name) else { preconditionFailure("unknown SLUICE_FUZZ_TARGET \(name)") }
        return target
    }()
}

/// libFuzzer's driver, called from `main` (SwiftPM gives an executable its own `main`).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM points an executable's `main` at `<module>_main`; libFuzzer brings a `main` of its
/// own. The build allows both (`--allow-multiple-definition`), and either way the fuzzer runs
/// `fuzzOne`: this one through libFuzzer's driver, libFuzzer's through the usual entry point.
@_cdecl("SluiceFuzz_main")
func sluiceFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOne(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let data else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: count)
    switch FuzzTarget.selected {
    case .encode: fuzzEncoding(input)
    case .scanner: fuzzScanner(input)
    case .expression: fuzzExpression(input)
    }
    return 0
}

private func fuzzEncoding(_ input: UnsafeRawBufferPointer) {
    guard let first = input.first else { return }
    let body = UnsafeRawBufferPointer(rebasing: input.dropFirst())
    let framing: Framing = first & 1 == 0 ? .newline : .octetCounting
    let format = InputFormat.allCases[Int(first >> 1) % InputFormat.allCases.count]
    var framer = LineFramer(maxLineBytes: 64 + Int(first), readSize: 64, framing: framing)
    var encoder = EventEncoder(format: format, metadata: EventMetadata(host: "fuzz", sourceName: "fuzz"))
    var builder = EventBatchBuilder(byteCapacity: 4096)
    var offset = 0
    while offset < body.count {
        let size = min(1 + (offset * 7 + Int(first)) % 97, body.count - offset)
        framer.append(UnsafeRawBufferPointer(rebasing: body[offset..<(offset + size)]))
        offset += size
        while let line = framer.nextLine() { encoder.encode(line, into: &builder) }
    }
    while let line = framer.finish() { encoder.encode(line, into: &builder) }
    let batch = EventBatch(sourceIndex: 0, builder: builder)
    var scanner = JSONObjectScanner()
    for position in 0..<batch.count {
        let json = batch[position].json
        guard scanner.scan(json) else {
            preconditionFailure("event \(position) is not a JSON object: \(String(decoding: json, as: UTF8.self))")
        }
        guard String(validating: json, as: UTF8.self) != nil else {
            preconditionFailure("event \(position) is not valid UTF-8")
        }
    }
}

private func fuzzScanner(_ input: UnsafeRawBufferPointer) {
    var scanner = JSONObjectScanner()
    if scanner.scan(input) {
        for field in scanner.fields {
            precondition(
                0 <= field.keyStart && field.keyStart <= field.keyEnd && field.keyEnd < field.valueStart
                    && field.valueStart < field.valueEnd && Int(field.valueEnd) <= input.count,
                "a field lies outside the line"
            )
        }
    }
}

private func fuzzExpression(_ input: UnsafeRawBufferPointer) {
    let text = String(decoding: input, as: UTF8.self)
    guard let expression = try? ExpressionParser.parse(text) else { return }
    let matcher = EventMatcher([expression])
    let event = Array(#"{"level":"error","msg":"a b","n":42,"ctx":{"region":"eu"}}"#.utf8)
    event.withUnsafeBytes { matcher.load(EventRecord(json: $0, timestampMilliseconds: 0, level: .error)) }
    _ = matcher.matches(0)
}
