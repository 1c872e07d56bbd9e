-- db/migrations/0004_dname.sql — DNAME records (RFC 6672 §2.4) as NSD loads them: at
-- most one DNAME at a name, and no data below a DNAME (it would be occluded: the
-- DNAME redirects every name under its owner). gtmctl zone import checks both before
-- it writes, with file and line; gtmctl record add also refuses a DNAME above names
-- that have data (a scan of the zone, too slow for a trigger that every insert of an
-- import would run).

-- The DNAMEs of each zone: few, so a record's check is a short scan of its zone's.
CREATE INDEX records_dnames ON records(zone_id, owner) WHERE type = 39;

CREATE TRIGGER records_one_dname BEFORE INSERT ON records
WHEN NEW.type = 39 AND EXISTS (SELECT 1 FROM records d WHERE d.zone_id = NEW.zone_id
                               AND d.type = 39 AND d.owner = NEW.owner)
BEGIN SELECT RAISE(ABORT, 'a name has at most one DNAME record'); END;

CREATE TRIGGER records_below_dname BEFORE INSERT ON records
WHEN EXISTS (SELECT 1 FROM records AS d INDEXED BY records_dnames
             WHERE d.zone_id = NEW.zone_id AND d.type = 39
             AND substr(NEW.owner, -length(d.owner) - 1) = '.' || d.owner)
BEGIN SELECT RAISE(ABORT, 'a name below a DNAME cannot have data'); END;
