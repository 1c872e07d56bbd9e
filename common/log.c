/* common/log.c — stderr/syslog logging for the gtm binaries. Any thread; a line is
 * formatted on the stack and written with one write(2). */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

/* Longer lines are cut; every message we write fits comfortably. */
#define LOG_LINE_MAX 2048

static const char *log_ident = "gtm";
static bool log_to_syslog;
static bool log_echo;
static _Atomic int log_threshold = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_open(const char *ident, bool use_syslog)
{
    log_ident = ident;
    log_to_syslog = use_syslog;
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_echo_stderr(bool on)
{
    log_echo = on;
}

void log_level_set(enum log_level level)
{
    atomic_store_explicit(&log_threshold, (int)level, memory_order_relaxed);
}

enum log_level log_level_get(void)
{
    return (enum log_level)atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "err") == 0 || strcasecmp(s, "warning") == 0) {
        *out = s[0] == 'e' || s[0] == 'E' ? LOG_LEVEL_ERR : LOG_LEVEL_WARN;
        return 0;
    }
    return GTM_EPARSE;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if ((int)level > atomic_load_explicit(&log_threshold, memory_order_relaxed))
        return;
    char line[LOG_LINE_MAX];
    size_t off = 0;
    if (!log_to_syslog) {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        off = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        off += (size_t)snprintf(line + off, sizeof line - off,
                                ".%03dZ %s[%d] %s: ", (int)(tv.tv_usec / 1000), log_ident,
                                (int)getpid(), level_names[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + off, sizeof line - off, fmt, ap);
    va_end(ap);
    off = n < 0 ? off : off + (size_t)n;
    if (off > sizeof line - 2)
        off = sizeof line - 2;
    if (log_to_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        line[off] = '\0';
        syslog(prio[level], "%s", line);
        if (!log_echo)
            return;
        char echo[LOG_LINE_MAX + 64];
        int e = snprintf(echo, sizeof echo, "%s: %s: %s\n", log_ident, level_names[level], line);
        ssize_t w = write(STDERR_FILENO, echo,
                          e < 0                  ? 0
                          : e < (int)sizeof echo ? (size_t)e
                                                 : sizeof echo - 1);
        (void)w;
        return;
    }
    line[off++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w; /* nowhere to report a failed log write */
}

bool log_rl_allow(struct log_rl *rl, uint64_t now_ms, unsigned *suppressed_out)
{
    if (now_ms - rl->window_start_ms >= LOG_RL_WINDOW_MS) {
        rl->window_start_ms = now_ms;
        rl->count = 0;
    }
    if (rl->count >= LOG_RL_BURST) {
        rl->suppressed++;
        return false;
    }
    rl->count++;
    *suppressed_out = rl->suppressed;
    rl->suppressed = 0;
    return true;
}
