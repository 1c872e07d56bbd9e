-- db/migrations/0003_health.sql — health checking and failover drills: the checks
-- gtm-healthd runs, what each vantage point sees, state-change events, RTT samples,
-- drills and drains; and a generation counter that moves when configuration changes,
-- so gtm-dnsd can tell a health update (applied in place) from a change that needs a
-- new snapshot.

-- One check per endpoint. Times in milliseconds.
CREATE TABLE checks (
    endpoint_id   INTEGER PRIMARY KEY REFERENCES endpoints(id) ON DELETE CASCADE,
    type          TEXT NOT NULL CHECK (type IN ('http', 'https', 'tcp', 'dns')),
    url           TEXT,                 -- http/https: what to fetch (default: / on the target)
    port          INTEGER CHECK (port BETWEEN 1 AND 65535),
    host          TEXT,                 -- http/https: Host header and TLS name
    query         TEXT,                 -- dns: NAME/TYPE to ask
    probe_address TEXT,                 -- where to probe, when not the answered address
    interval_ms   INTEGER NOT NULL DEFAULT 10000 CHECK (interval_ms BETWEEN 1000 AND 86400000),
    timeout_ms    INTEGER NOT NULL DEFAULT 2000 CHECK (timeout_ms BETWEEN 100 AND 60000),
    rise          INTEGER NOT NULL DEFAULT 2 CHECK (rise BETWEEN 1 AND 100),
    fall          INTEGER NOT NULL DEFAULT 3 CHECK (fall BETWEEN 1 AND 100),
    status_min    INTEGER NOT NULL DEFAULT 200 CHECK (status_min BETWEEN 100 AND 599),
    status_max    INTEGER NOT NULL DEFAULT 399 CHECK (status_max BETWEEN 100 AND 599),
    expect_body   TEXT,
    insecure      INTEGER NOT NULL DEFAULT 0 CHECK (insecure IN (0, 1)), -- no TLS verification
    CHECK (status_min <= status_max),
    CHECK (timeout_ms < interval_ms)
);

-- Each vantage point (a gtm-healthd) says when it last reported; one that stops
-- reporting ages out of the quorum.
CREATE TABLE vantages (
    name      TEXT PRIMARY KEY,
    last_seen INTEGER NOT NULL   -- unix ms
);

-- What one vantage point concludes about one endpoint (after rise/fall hysteresis).
CREATE TABLE health (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    vantage     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('up', 'down')),
    since       INTEGER NOT NULL,    -- unix ms of the last change
    reason      TEXT NOT NULL DEFAULT '',
    rtt_us      INTEGER,             -- last successful probe's round trip
    checked     INTEGER,             -- unix ms of the last probe
    PRIMARY KEY (endpoint_id, vantage)
);

-- Every state change, as operators read them with gtmctl events.
CREATE TABLE health_events (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,    -- unix ms
    endpoint_id INTEGER REFERENCES endpoints(id) ON DELETE SET NULL,
    target      TEXT NOT NULL,       -- pool/target, kept when the endpoint goes
    vantage     TEXT NOT NULL,       -- or 'drill' / 'drain'
    old         TEXT NOT NULL,
    new         TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX health_events_by_ts ON health_events(ts);

CREATE TABLE rtt_samples (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
    vantage     TEXT NOT NULL,
    ts          INTEGER NOT NULL,    -- unix ms
    rtt_us      INTEGER NOT NULL CHECK (rtt_us >= 0)
);
CREATE INDEX rtt_samples_by_endpoint ON rtt_samples(endpoint_id, vantage, ts);

-- A drill forces a region, or one endpoint, down until it is restored or expires.
CREATE TABLE drills (
    id          INTEGER PRIMARY KEY,
    region_id   INTEGER REFERENCES regions(id) ON DELETE CASCADE,
    endpoint_id INTEGER REFERENCES endpoints(id) ON DELETE CASCADE,
    started     INTEGER NOT NULL,    -- unix ms
    until       INTEGER,             -- unix ms; NULL: until restored
    reason      TEXT NOT NULL DEFAULT '',
    user        TEXT NOT NULL,
    CHECK ((region_id IS NULL) != (endpoint_id IS NULL)),
    CHECK (until IS NULL OR until > started)
);
CREATE UNIQUE INDEX drills_one_per_region ON drills(region_id) WHERE region_id IS NOT NULL;
CREATE UNIQUE INDEX drills_one_per_endpoint ON drills(endpoint_id) WHERE endpoint_id IS NOT NULL;

-- A drain takes a region's weights to zero in steps between started and until.
CREATE TABLE drains (
    region_id INTEGER PRIMARY KEY REFERENCES regions(id) ON DELETE CASCADE,
    started   INTEGER NOT NULL,      -- unix ms
    until     INTEGER NOT NULL CHECK (until >= started)
);

-- Policy settings for health: how endpoints never probed count, and the TTL while an
-- endpoint of the pool is down or flapping (0: half the TTL, at least 5 s).
ALTER TABLE policies ADD COLUMN unknown_up INTEGER NOT NULL DEFAULT 1 CHECK (unknown_up IN (0, 1));
ALTER TABLE policies ADD COLUMN ttl_degraded INTEGER NOT NULL DEFAULT 0
    CHECK (ttl_degraded BETWEEN 0 AND 2147483647);

-- Configuration generation: any change to what a snapshot compiles moves it; health,
-- vantages, events, samples, drills and drains do not (gtm-dnsd applies those in place).
CREATE TABLE generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO generation VALUES (1, 1);
CREATE TRIGGER gen_zones_i AFTER INSERT ON zones BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_zones_u AFTER UPDATE ON zones BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_zones_d AFTER DELETE ON zones BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_records_i AFTER INSERT ON records BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_records_u AFTER UPDATE ON records BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_records_d AFTER DELETE ON records BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_regions_i AFTER INSERT ON regions BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_regions_u AFTER UPDATE ON regions BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_regions_d AFTER DELETE ON regions BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_pools_i AFTER INSERT ON pools BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_pools_u AFTER UPDATE ON pools BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_pools_d AFTER DELETE ON pools BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_endpoints_i AFTER INSERT ON endpoints BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_endpoints_u AFTER UPDATE ON endpoints BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_endpoints_d AFTER DELETE ON endpoints BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_policies_i AFTER INSERT ON policies BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_policies_u AFTER UPDATE ON policies BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_policies_d AFTER DELETE ON policies BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_geo_i AFTER INSERT ON geo_map_regions BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_geo_d AFTER DELETE ON geo_map_regions BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_geokeys_i AFTER INSERT ON geo_map BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_geokeys_d AFTER DELETE ON geo_map BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_latency_i AFTER INSERT ON latency BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_latency_u AFTER UPDATE ON latency BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_latency_d AFTER DELETE ON latency BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_checks_i AFTER INSERT ON checks BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_checks_u AFTER UPDATE ON checks BEGIN UPDATE generation SET n = n + 1; END;
CREATE TRIGGER gen_checks_d AFTER DELETE ON checks BEGIN UPDATE generation SET n = n + 1; END;
