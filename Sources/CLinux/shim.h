#ifndef SLUICE_CLINUX_SHIM_H
#define SLUICE_CLINUX_SHIM_H
// Linux interfaces the Glibc module does not export.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>

#include <sys/socket.h>

int pipe2(int pipefd[2], int flags);
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

/// Accepts a connection as a non-blocking, close-on-exec descriptor in one step.
static inline int sluice_accept(int listener) {
    return accept4(listener, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

#include <pthread.h>
#include <time.h>
int pthread_timedjoin_np(pthread_t thread, void **result, const struct timespec *deadline);

/// Joins `thread` unless it is still running at `deadline` (CLOCK_REALTIME); 0 when joined.
static inline int sluice_timed_join(pthread_t thread, const struct timespec *deadline) {
    return pthread_timedjoin_np(thread, 0, deadline);
}

/// A pipe whose both ends are close-on-exec from the start: no other child spawned at the same
/// moment by another thread can inherit them.
static inline int sluice_pipe_cloexec(int descriptors[2]) {
    return pipe2(descriptors, O_CLOEXEC);
}

/// Makes the spawned child start in `path` (glibc 2.29+).
static inline int sluice_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

/// Closes every descriptor from `lowest` up in the spawned child (glibc 2.34+): a child gets
/// its standard streams and nothing it was not meant to have, even a descriptor some library
/// opened without O_CLOEXEC.
static inline int sluice_spawn_add_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

/// Sets a pipe's capacity (F_SETPIPE_SZ, Linux only); returns the new size or -1.
static inline int sluice_set_pipe_size(int descriptor, int size) {
#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
    return fcntl(descriptor, F_SETPIPE_SZ, size);
}

/// Makes orphaned descendants re-parent to this process instead of PID 1, so a wrapping Sluice
/// reaps them whether or not it is PID 1 itself.
static inline int sluice_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/// epoll without its packed struct (which Swift cannot import faithfully): register, change and
/// remove a descriptor, and wait for ready descriptors into plain arrays.
static inline int sluice_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

static inline int sluice_epoll_control(int epoll, int operation, int descriptor, unsigned int events) {
    struct epoll_event event = { .events = events, .data.fd = descriptor };
    return epoll_ctl(epoll, operation, descriptor, &event);
}

static inline int sluice_epoll_wait(int epoll, int *descriptors, unsigned int *events, int capacity, int timeout) {
    struct epoll_event ready[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epoll, ready, capacity, timeout);
    for (int index = 0; index < count; index++) {
        descriptors[index] = ready[index].data.fd;
        events[index] = ready[index].events;
    }
    return count;
}
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Sleeps while `*word` holds `expected`, until woken or the absolute CLOCK_MONOTONIC `deadline`
/// (NULL: none). 0 when woken; -1 with errno EAGAIN (the word changed), ETIMEDOUT or EINTR.
static inline int sluice_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *deadline) {
    return (int)syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, expected, deadline, 0, FUTEX_BITSET_MATCH_ANY);
}

/// Wakes every thread sleeping on `word`.
static inline void sluice_futex_wake_all(uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
}

#include <linux/stat.h>
#include <sys/syscall.h>

/// The birth time of the file at `path` (statx's `stx_btime`), in nanoseconds since the epoch;
/// 0 when the filesystem does not record it. A new file on a reused inode has another one.
static inline int64_t sluice_birth_time(const char *path) {
    struct statx status;
    if (syscall(SYS_statx, AT_FDCWD, path, 0, STATX_BTIME, &status) != 0 || !(status.stx_mask & STATX_BTIME)) return 0;
    return (int64_t)status.stx_btime.tv_sec * 1000000000 + status.stx_btime.tv_nsec;
}

#endif
