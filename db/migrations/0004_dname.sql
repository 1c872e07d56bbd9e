-- db/migrations/0004_dname.sql — DNAME records (RFC 6672 §2.4) as NSD loads them: at
-- most one DNAME at a name, and no data below a DNAME (it would be occluded: the
-- DNAME redirects every name under its owner). The store keeps the first rule; gtmctl
-- zone import checks both before it writes (with file and line), and gtmctl record add
-- checks the second through store_dname_above() and store_rr_below() (a trigger would
-- run those scans for every record of an import).

-- The DNAMEs of each zone, for store_dname_above().
CREATE INDEX records_dnames ON records(zone_id, owner) WHERE type = 39;

CREATE TRIGGER records_one_dname BEFORE INSERT ON records
WHEN NEW.type = 39 AND EXISTS (SELECT 1 FROM records d WHERE d.zone_id = NEW.zone_id
                               AND d.owner = NEW.owner AND d.type = 39)
BEGIN SELECT RAISE(ABORT, 'a name has at most one DNAME record'); END;
