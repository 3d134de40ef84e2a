#ifndef SLUICE_CLINUX_SHIM_H
#define SLUICE_CLINUX_SHIM_H
// Linux interfaces the Glibc module does not export.
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>

int pipe2(int pipefd[2], int flags);

/// A pipe whose both ends are close-on-exec from the start: no other child spawned at the same
/// moment by another thread can inherit them.
static inline int sluice_pipe_cloexec(int descriptors[2]) {
    return pipe2(descriptors, O_CLOEXEC);
}
#endif
