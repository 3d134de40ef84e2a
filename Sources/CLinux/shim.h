#ifndef SLUICE_CLINUX_SHIM_H
#define SLUICE_CLINUX_SHIM_H
// Linux interfaces the Glibc module does not export.
#include <signal.h>
#include <sys/signalfd.h>
#endif
