import SluiceCore

/// The process environment as a value: read once at start and passed down, so tests can pass
/// their own dictionary instead of changing the process's.
enum ProcessEnvironment {
    static var current: [String: String] { ProcessSpawner.currentEnvironment() }
}
