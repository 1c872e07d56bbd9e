/* db/serial.h — SOA serial numbers: RFC 1982 comparison and the next serial after a
 * change. Pure functions, any thread. */
#ifndef GTM_DB_SERIAL_H
#define GTM_DB_SERIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* RFC 1982 §3.2: true when a is less than b in serial number arithmetic. Pairs exactly
 * 2^31 apart are undefined by the RFC; we call them not less. */
bool serial_lt(uint32_t a, uint32_t b);

/* The serial that follows old after a change at time now (UTC): YYYYMMDD00 of that
 * day when it is greater than old (RFC 1982), so serials read as dates; otherwise
 * old + 1 (mod 2^32), which secondaries also accept as newer. */
uint32_t serial_next(uint32_t old, time_t now);

#endif
