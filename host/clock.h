// The host's monotonic clock, for timings taken on the host (wall time around submissions,
// time limits); GPU time comes from timestamp queries (runtime/command.h).
#ifndef VKLLM_CLOCK_H
#define VKLLM_CLOCK_H

#include <time.h>

static inline double vkl_seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
