-- db/migrations/0002_traffic.sql — traffic management: regions, pools of endpoints,
-- policies on managed names, the geo map and the latency table.
-- Names of regions and pools: lower-case letters, digits, '-', '_' and '.'.

CREATE TABLE regions (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63
                                     AND name NOT GLOB '*[^a-z0-9_.-]*'),
    lat  REAL CHECK (lat BETWEEN -90 AND 90),     -- degrees north, NULL when unknown
    lon  REAL CHECK (lon BETWEEN -180 AND 180),   -- degrees east
    CHECK ((lat IS NULL) = (lon IS NULL))
);

CREATE TABLE pools (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63
                                     AND name NOT GLOB '*[^a-z0-9_.-]*')
);

-- An endpoint answers A (kind 4), AAAA (kind 6), or is a host name answered as a CNAME
-- (kind 0). target is its canonical text; address its 4 or 16 bytes, or the wire name.
CREATE TABLE endpoints (
    id        INTEGER PRIMARY KEY,
    pool_id   INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    target    TEXT NOT NULL,
    kind      INTEGER NOT NULL CHECK (kind IN (0, 4, 6)),
    address   BLOB NOT NULL CHECK ((kind = 4 AND length(address) = 4)
                                   OR (kind = 6 AND length(address) = 16)
                                   OR (kind = 0 AND length(address) BETWEEN 1 AND 255)),
    region_id INTEGER NOT NULL REFERENCES regions(id),
    weight    INTEGER NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 1000000),
    priority  INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 65535),
    enabled   INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    UNIQUE (pool_id, target)
);
CREATE INDEX endpoints_by_region ON endpoints(region_id);

-- A managed name: its answers come from a pool through a policy, never from records.
CREATE TABLE policies (
    id               INTEGER PRIMARY KEY,
    zone_id          INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
    name             TEXT NOT NULL UNIQUE CHECK (name = lower(name) AND substr(name, -1) = '.'),
    pool_id          INTEGER NOT NULL REFERENCES pools(id),
    mode             TEXT NOT NULL CHECK (mode IN ('geo', 'latency', 'proximity', 'weighted',
                                                   'failover', 'all')),
    ttl              INTEGER NOT NULL DEFAULT 30 CHECK (ttl BETWEEN 0 AND 2147483647),
    answers          INTEGER NOT NULL DEFAULT 0 CHECK (answers BETWEEN 0 AND 64), -- 0: mode's
    fallback         TEXT NOT NULL DEFAULT 'fail-open'
                     CHECK (fallback IN ('fail-open', 'pool', 'none')),
    fallback_pool_id INTEGER REFERENCES pools(id),
    sticky           INTEGER NOT NULL DEFAULT 0 CHECK (sticky IN (0, 1)),
    region_up        INTEGER NOT NULL DEFAULT 50 CHECK (region_up BETWEEN 0 AND 100), -- percent
    CHECK ((fallback = 'pool') = (fallback_pool_id IS NOT NULL)),
    CHECK (fallback_pool_id IS NULL OR fallback_pool_id != pool_id)
);
CREATE INDEX policies_by_pool ON policies(pool_id);

CREATE TRIGGER policies_inside_zone BEFORE INSERT ON policies
WHEN NOT EXISTS (SELECT 1 FROM zones z WHERE z.id = NEW.zone_id
                 AND (z.name = '.' OR NEW.name = z.name
                      OR substr(NEW.name, -length(z.name) - 1) = '.' || z.name))
BEGIN SELECT RAISE(ABORT, 'managed name is outside its zone'); END;

-- A managed name has no records, and a name with records is not managed.
CREATE TRIGGER policies_no_records BEFORE INSERT ON policies
WHEN EXISTS (SELECT 1 FROM records WHERE owner = NEW.name)
BEGIN SELECT RAISE(ABORT, 'the name has records; a managed name cannot'); END;
CREATE TRIGGER records_not_managed BEFORE INSERT ON records
WHEN EXISTS (SELECT 1 FROM policies WHERE name = NEW.owner)
BEGIN SELECT RAISE(ABORT, 'the name is managed by a policy; it cannot have records'); END;

-- The geo map: which regions, in order of preference, answer the clients of a key.
-- key is normalised: '*', a continent ('EU'), a country ('DE'), a country subdivision
-- ('US-CA'), or a CIDR block ('192.0.2.0/24', '2001:db8::/32').
CREATE TABLE geo_map (
    key  TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('default', 'continent', 'country', 'subdivision', 'cidr'))
);
CREATE TABLE geo_map_regions (
    key       TEXT NOT NULL REFERENCES geo_map(key) ON DELETE CASCADE,
    position  INTEGER NOT NULL CHECK (position >= 0),
    region_id INTEGER NOT NULL REFERENCES regions(id),
    PRIMARY KEY (key, position),
    UNIQUE (key, region_id)
);

-- Measured latency from the clients of a key (as in geo_map) to a region.
CREATE TABLE latency (
    key       TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('default', 'continent', 'country', 'subdivision',
                                            'cidr')),
    region_id INTEGER NOT NULL REFERENCES regions(id),
    ms        REAL NOT NULL CHECK (ms >= 0 AND ms < 1000000),
    PRIMARY KEY (key, region_id)
);
