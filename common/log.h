/* common/log.h — the one logging module of the gtm daemons and tools.
 * Lines go to stderr (journald collects them) or, after log_open(..., true), to syslog.
 * Any thread may log; each call is one write(2) so lines never interleave. Never call
 * it per query: the query path keeps counters instead (STYLE §5). log_debug_hot()
 * compiles out under NDEBUG for the few debug lines on hot paths. */
#ifndef GTM_COMMON_LOG_H
#define GTM_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the program name shown in every line and where lines go. Call once from main()
 * before threads start; without it lines go to stderr under the name "gtm". */
void log_open(const char *ident, bool use_syslog);
/* While on, lines that go to syslog go to stderr too: a daemon detaching keeps the
 * operator's terminal as stderr until it is serving (common/daemon.h), so a failed
 * start-up says why there. main() only. */
void log_echo_stderr(bool on);
/* Lines below this level are dropped. Any thread. */
void log_level_set(enum log_level level);
enum log_level log_level_get(void);
/* Parses "debug|info|warn|error" into *out; returns 0 or GTM_EPARSE. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#ifdef NDEBUG
#define log_debug_hot(...) ((void)0)
#else
#define log_debug_hot(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#endif

/* Rate limit for lines caused by network input (bad packets, failing peers): at most
 * LOG_RL_BURST lines per LOG_RL_WINDOW_MS per limiter; the rest are counted and the
 * count is reported with the next allowed line. One limiter per thread and cause;
 * zero-initialise it. */
#define LOG_RL_BURST 10u       /* enough to see a pattern, too few to flood journald */
#define LOG_RL_WINDOW_MS 10000 /* ten seconds */
struct log_rl {
    uint64_t window_start_ms;
    unsigned count;      /* lines allowed in this window */
    unsigned suppressed; /* lines dropped since the last allowed one */
};
/* True when a line may be written now; *suppressed_out gets the number dropped since
 * the last allowed line (report it in that line). */
bool log_rl_allow(struct log_rl *rl, uint64_t now_ms, unsigned *suppressed_out);

#endif
