// A log line, then the exception it reports: Suppressed, nested Caused by, "... N more".
import java.io.IOException;
import java.io.UncheckedIOException;

public class LoggedTrace {
    static void load(String key) throws IOException {
        throw new IOException("disk gone: " + key);
    }

    static void handle() {
        try {
            try {
                load("user");
            } catch (IOException e) {
                throw new IllegalStateException("cannot load", e);
            }
        } catch (IllegalStateException e) {
            IllegalStateException failure = new IllegalStateException("request failed", e);
            failure.addSuppressed(new RuntimeException("cleanup failed", new UncheckedIOException(new IOException("close"))));
            System.err.println("2026-12-01 10:00:00.123 ERROR [main] c.e.Handler - boom");
            failure.printStackTrace();
        }
    }

    public static void main(String[] args) {
        System.out.println("2026-12-01 10:00:00.100 INFO  [main] c.e.Handler - starting");
        handle();
    }
}
