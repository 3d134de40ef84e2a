import SluiceCore
#if canImport(Glibc)
import Glibc
#endif

/// The transform runners of one publishing thread, for the stage it last published through:
/// kept in thread-specific storage, so a thread finds its runners with no lock and no two
/// threads ever share one (a runner's editor and matchers are scratch space). A reload's new
/// stage is noticed by identity and gets fresh runners; the old stage stays alive until the
/// thread publishes through the new one.
final class ThreadRunners {
    private var stage: TransformStage?
    private var runners: [TransformRunner?] = []

    /// This thread's runners for `stage`.
    static func current(for stage: TransformStage) -> ThreadRunners {
        let threadRunners: ThreadRunners
        if let stored = pthread_getspecific(key) {
            threadRunners = Unmanaged<ThreadRunners>.fromOpaque(stored).takeUnretainedValue()
        } else {
            threadRunners = ThreadRunners()
            pthread_setspecific(key, Unmanaged.passRetained(threadRunners).toOpaque())
        }
        if threadRunners.stage !== stage {
            threadRunners.stage = stage
            threadRunners.runners = Array(repeating: nil, count: stage.shared.count)
        }
        return threadRunners
    }

    /// The runner of transform `index`, made on first use.
    func runner(_ index: Int, of shared: [TransformShared]) -> TransformRunner {
        if let runner = runners[index] { return runner }
        let made = TransformRunner(shared[index])
        runners[index] = made
        return made
    }

    /// Released when its thread ends.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let created = pthread_key_create(&key) { stored in
            guard let stored else { return }
            Unmanaged<ThreadRunners>.fromOpaque(stored).release()
        }
        precondition(created == 0, "cannot create the transform runners' thread key")
        return key
    }()
}
