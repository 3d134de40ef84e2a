#if canImport(Glibc)
import Glibc
#endif

/// The controlling terminal for `sluice top`'s full-screen view: raw input (a key is read as it
/// is pressed, Ctrl-C included, so the screen is always restored), the alternate screen, and
/// the window's size. Everything is undone by `restore`.
final class Terminal {
    private var saved = termios()
    private var isRaw = false

    /// Whether both stdin and stdout are a terminal.
    static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    /// Columns and rows (80×24 when the size is unknown).
    var size: (columns: Int, rows: Int) {
        var window = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0, window.ws_row > 0 else { return (80, 24) }
        return (Int(window.ws_col), Int(window.ws_row))
    }

    func enter() {
        if tcgetattr(STDIN_FILENO, &saved) == 0 {
            var raw = saved
            cfmakeraw(&raw)
            raw.c_oflag |= tcflag_t(OPOST)  // keep "\n" → "\r\n"
            isRaw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0
        }
        write("\u{1B}[?1049h\u{1B}[?25l")
    }

    func restore() {
        write("\u{1B}[?25h\u{1B}[?1049l")
        if isRaw { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        isRaw = false
    }

    /// Replaces the screen with `lines` (as many as fit).
    func draw(_ lines: [String]) {
        write("\u{1B}[H\u{1B}[2J" + lines.prefix(size.rows).joined(separator: "\r\n"))
    }

    /// Waits up to `milliseconds` for a key; true when it asks to quit (`q`, Ctrl-C, Ctrl-D,
    /// or input closed).
    func waitForQuit(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var byte: UInt8 = 0
        let count = read(STDIN_FILENO, &byte, 1)
        return count <= 0 || byte == UInt8(ascii: "q") || byte == UInt8(ascii: "Q") || byte == 3 || byte == 4
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Glibc.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if count <= 0 { return }
                offset += count
            }
        }
    }
}
