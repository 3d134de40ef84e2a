/// Lines out of an HTTP/1.1 response as its bytes arrive: the head, then a chunked body (or a
/// plain one, for an error answer), cut at newlines.
struct ChunkedLines {
    private var pending: [UInt8] = []
    private var body: [UInt8] = []
    private(set) var status: Int?
    private var chunked = false
    /// Bytes left in the current chunk; nil between chunks.
    private var chunkLeft: Int?
    private(set) var bodyComplete = false

    mutating func feed(_ bytes: ArraySlice<UInt8>) {
        pending += bytes
        if status == nil {
            guard let end = pending.firstRange(of: [13, 10, 13, 10]) else { return }
            let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
            status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            chunked = head.lowercased().contains("transfer-encoding: chunked")
            pending.removeSubrange(..<end.upperBound)
        }
        guard chunked else {
            body += pending
            pending.removeAll()
            return
        }
        while true {
            if let left = chunkLeft {
                let take = min(left, pending.count)
                body += pending[..<take]
                pending.removeSubrange(..<take)
                chunkLeft = left - take
                guard chunkLeft == 0, pending.count >= 2 else { return }
                pending.removeSubrange(..<2)  // the chunk's CRLF
                chunkLeft = nil
            }
            guard let lineEnd = pending.firstRange(of: [13, 10]) else { return }
            let size = Int(String(decoding: pending[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
            pending.removeSubrange(..<lineEnd.upperBound)
            if size == 0 {
                bodyComplete = true
                return
            }
            chunkLeft = size
        }
    }

    /// The next whole line of the body, without its newline.
    mutating func nextLine() -> Substring? {
        guard let newline = body.firstIndex(of: 0x0A) else { return nil }
        let line = String(decoding: body[..<newline], as: UTF8.self)
        body.removeSubrange(...newline)
        return Substring(line)
    }

    var plainBody: String {
        String(decoding: body, as: UTF8.self).trimmingSuffixNewlines
    }
}

extension String {
    fileprivate var trimmingSuffixNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
