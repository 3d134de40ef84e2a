// An exception no one catches in a thread: the JVM prints `Exception in thread "worker-1"`.
public class UncaughtInThread {
    public static void main(String[] args) throws InterruptedException {
        System.out.println("2026-12-01 10:00:00.100 INFO  [main] c.e.Worker - starting worker");
        Thread worker = new Thread(() -> {
            throw new UnsupportedOperationException("not implemented yet");
        }, "worker-1");
        worker.start();
        worker.join();
    }
}
