/* common/random.h — random bits for seeds (hash seeds, the policies' generators, rate
 * limiting): from getrandom(2), or from the time and process id when the kernel has no
 * entropy ready yet. Not for cryptography. Any thread; off the query path. */
#ifndef GTM_COMMON_RANDOM_H
#define GTM_COMMON_RANDOM_H

#include <stdint.h>

uint64_t random_u64(void);

#endif
