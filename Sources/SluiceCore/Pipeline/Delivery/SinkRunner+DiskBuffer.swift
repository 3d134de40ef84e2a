/// A sink with a disk buffer runs two threads:
///
/// - the ring reader applies `inputs` and `where` and appends what the sink takes to the buffer
///   (under the buffer's `when_full`), so a slow or absent destination never holds the sources
///   back while the buffer has room;
/// - the sink's thread reads the buffer in order and hands each record to the sink under the
///   record's ticket; the buffer lets a record go once its ticket is settled.
///
/// At a reload the replacement's ring reader appends after this one's, and its sink thread takes
/// the reading over at once and stops this one's sink: what this one had in hand and not yet
/// delivered (requests being retried, an open batch) goes back to the buffer, and the
/// replacement delivers it, so a reload that fixes an endpoint fixes it for everything waiting.
/// At the end of the stream (stdin's end, the wrapped program's exit, SIGTERM) the sink's thread
/// goes on delivering what the buffer holds until it is empty or the grace period is over (the
/// pipeline's stop); the rest waits on disk for the next start. A container whose `data_dir` is
/// an `emptyDir` has no next start, so the grace period is spent delivering, never skipped.
extension SinkRunner {
    func startBuffered(_ buffer: any DurableSinkBuffer) {
        threadsRunning(2)
        NamedThread.detached(name: "buf-\(configuration.name)") { [self] in
            predecessor?.waitUntilStoppedReading()
            readRing(into: AppendingToBuffer(buffer: buffer, shutdown: shutdown, counters: counters, isLastWriter: { [unowned self] in !isReplaced }))
            threadsRunning(nil)
        }
        NamedThread.detached(name: "sink-\(configuration.name)") { [self] in
            var feed = DiskBufferFeed(buffer: buffer, stop: sinkShutdown)
            // What the replaced version holds goes back to the buffer, for this one to deliver.
            predecessor?.sinkShutdown.stopNow()
            takeOver()
            drive(&feed)
            attempt("finish") { try sink.finish() }
            threadsRunning(nil)
        }
    }
}
