-- db/schema.sql — version 1 of the gtm store: zones, their records and the audit log.
-- Applied by store_open() to a new store; later versions are db/migrations/NNNN_*.sql,
-- applied in order. The database itself refuses nonsense, so a bug in a tool (or an
-- operator with the sqlite3 shell) cannot store what gtm-dnsd would have to serve.
-- Names are keys (common/dname.h): lower-case, absolute, '.' only between labels.

CREATE TABLE zones (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE CHECK (name = lower(name) AND substr(name, -1) = '.'),
    created INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))   -- unix seconds
);

-- One row per resource record. rdata is the presentation form (what export prints);
-- wire is the uncompressed RDATA (what the server compiles and what makes two records
-- equal). RFC 2181 §5.2: every record of an RRset has the same TTL; the tools keep it.
CREATE TABLE records (
    id      INTEGER PRIMARY KEY,
    zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    owner   TEXT NOT NULL CHECK (owner = lower(owner) AND substr(owner, -1) = '.'),
    -- data types only: not 0, OPT (41), TKEY/TSIG (249/250) or the QTYPEs 251-255
    type    INTEGER NOT NULL CHECK (type BETWEEN 1 AND 65535 AND type NOT IN (41, 249, 250)
                                    AND type NOT BETWEEN 251 AND 255),
    -- RFC 2181 §8: a TTL is an unsigned 31-bit number
    ttl     INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647),
    rdata   TEXT NOT NULL,
    wire    BLOB NOT NULL CHECK (length(wire) <= 65535),
    UNIQUE (zone_id, owner, type, wire)
);
CREATE INDEX records_by_owner ON records(zone_id, owner, type);
-- RFC 1035 §5.2: exactly one SOA per zone (the tools check "at least one").
CREATE UNIQUE INDEX records_one_soa ON records(zone_id) WHERE type = 6;

CREATE TRIGGER records_inside_zone BEFORE INSERT ON records
WHEN NOT EXISTS (SELECT 1 FROM zones z WHERE z.id = NEW.zone_id
                 AND (z.name = '.' OR NEW.owner = z.name
                      OR substr(NEW.owner, -length(z.name) - 1) = '.' || z.name))
BEGIN SELECT RAISE(ABORT, 'record owner is outside its zone'); END;

CREATE TRIGGER records_soa_at_apex BEFORE INSERT ON records
WHEN NEW.type = 6 AND NEW.owner != (SELECT name FROM zones WHERE id = NEW.zone_id)
BEGIN SELECT RAISE(ABORT, 'an SOA record must be at the zone apex'); END;

-- RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME is alone at its name (DNSSEC's RRSIG and
-- NSEC excepted), and a CNAME RRset holds one record.
CREATE TRIGGER records_cname_alone BEFORE INSERT ON records
WHEN EXISTS (SELECT 1 FROM records r WHERE r.zone_id = NEW.zone_id AND r.owner = NEW.owner
             AND ((NEW.type = 5 AND r.type NOT IN (46, 47))
                  OR (r.type = 5 AND NEW.type NOT IN (46, 47))))
BEGIN SELECT RAISE(ABORT, 'a CNAME cannot share its name with other data'); END;

-- Records are replaced, never edited in place, except for the TTL and the SOA serial.
CREATE TRIGGER records_update_guard BEFORE UPDATE OF zone_id, owner, type ON records
BEGIN SELECT RAISE(ABORT, 'records are replaced, not moved'); END;

-- Who changed what. zone is a name, not a reference, so history outlives the zone.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    ts      INTEGER NOT NULL,              -- unix seconds
    user    TEXT NOT NULL,
    zone    TEXT,                          -- NULL for changes that span zones
    command TEXT NOT NULL,                 -- the command line as typed
    before  TEXT NOT NULL DEFAULT '',
    after   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_zone ON audit(zone, id);
