#if canImport(Glibc)
import Glibc
#endif

/// Reads YAML configuration files into `ConfigNode` trees that remember file and line.
/// Values are kept as written: `${VAR}` interpolation happens when a typed reader reads them.
///
/// The parsing is libyaml's (`YAMLComposer`); nothing here needs Foundation, whose full build
/// would link ICU's 34 MB data table into the binary.
public enum YAMLLoader {
    public static func load(file path: String) -> Result<ConfigNode, ConfigIssue> {
        FileText.read(path).flatMap { parse($0, file: path) }
    }

    public static func parse(_ text: String, file: String) -> Result<ConfigNode, ConfigIssue> {
        if let issue = YAMLAliasLimits.check(text, file: file) { return .failure(issue) }
        var composer = YAMLComposer(file: file)
        let document: ConfigNode?
        do {
            document = try composer.compose(text)
        } catch let problem as YAMLComposer.SyntaxError {
            return .failure(ConfigIssue(path: "", message: problem.message))
        } catch let issue as ConfigIssue {
            return .failure(issue)
        } catch {
            return .failure(ConfigIssue(path: "", message: "\(file): YAML syntax error: \(error)"))
        }
        guard let document else { return .success(.map([], ConfigOrigin(file: file))) }
        switch document {
        case .map: return .success(document)
        case .null: return .success(.map([], ConfigOrigin(file: file)))
        default:
            return .failure(ConfigIssue(path: "", message: "the top level of \(file) must be a map of sections (sources, sinks, ...)", origin: document.origin))
        }
    }
}

/// A whole file read as UTF-8 text, with the reason when it cannot be.
enum FileText {
    static func read(_ path: String) -> Result<String, ConfigIssue> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(ConfigIssue(path: "", message: "cannot read configuration file \(path): \(String(cString: strerror(errno)))")) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ConfigIssue(path: "", message: "cannot read configuration file \(path): \(String(cString: strerror(errno)))"))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return .failure(ConfigIssue(path: "", message: "configuration file \(path) is not UTF-8 text"))
        }
        return .success(text)
    }
}
