/* db/serial.c — SOA serial arithmetic (RFC 1982) and the date-based next serial. */
#include "config.h"

#include "db/serial.h"

#define SERIAL_HALF 0x80000000u /* 2^31, RFC 1982's SERIAL_BITS - 1 */

bool serial_lt(uint32_t a, uint32_t b)
{
    return (a < b && b - a < SERIAL_HALF) || (a > b && a - b > SERIAL_HALF);
}

uint32_t serial_next(uint32_t old, time_t now)
{
    struct tm tm;
    gmtime_r(&now, &tm);
    uint32_t date = (uint32_t)(tm.tm_year + 1900) * 1000000u + (uint32_t)(tm.tm_mon + 1) * 10000u +
                    (uint32_t)tm.tm_mday * 100u;
    return serial_lt(old, date) ? date : old + 1;
}
