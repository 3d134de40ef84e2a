extension StringProtocol {
    /// The text without the leading and trailing characters `isTrimmed` names (blanks and line
    /// breaks unless told), as Foundation's `trimmingCharacters(in:)` gives.
    public func trimmed(where isTrimmed: (Character) -> Bool = { $0.isWhitespace }) -> SubSequence {
        guard let first = firstIndex(where: { !isTrimmed($0) }) else { return self[endIndex...] }
        let last = lastIndex(where: { !isTrimmed($0) })!
        return self[first...last]
    }
}
