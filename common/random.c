/* common/random.c — random bits for seeds (see random.h). */
#include "config.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/random.h"

uint64_t random_u64(void)
{
    uint64_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = ((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32) * 0x9E3779B97F4A7C15ULL;
    return v;
}
