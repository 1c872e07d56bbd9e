/* common/clock.h — the wall clock as the store keeps it: health reports, drills, drains
 * and events are stamped in Unix milliseconds, and read against the same clock. Any
 * thread. */
#ifndef GTM_COMMON_CLOCK_H
#define GTM_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Unix time in milliseconds (CLOCK_REALTIME). */
static inline int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
