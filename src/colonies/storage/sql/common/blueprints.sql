-- blueprints: statements both backends run unchanged (see ../README.md).

-- name: add_blueprint_definition
INSERT INTO blueprintdefinitions (blueprintdefinitionid, colonyname, name, kind, data)
VALUES (:blueprintdefinitionid, :colonyname, :name, :kind, :data);

-- name: get_blueprint_definition
SELECT * FROM blueprintdefinitions WHERE colonyname = :colonyname AND name = :name;

-- name: get_blueprint_definition_by_kind
SELECT * FROM blueprintdefinitions WHERE colonyname = :colonyname AND kind = :kind;

-- name: get_blueprint_definitions
SELECT * FROM blueprintdefinitions WHERE colonyname = :colonyname ORDER BY name;

-- name: remove_blueprint_definition
DELETE FROM blueprintdefinitions WHERE colonyname = :colonyname AND name = :name;

-- name: add_blueprint
INSERT INTO blueprints (blueprintid, colonyname, name, kind, locationname, labels, annotations, handler, spec,
                        status, generation, createdat, updatedat, lastreconciliationprocess, lastreconciliationtime)
VALUES (:blueprintid, :colonyname, :name, :kind, :locationname, :labels, :annotations, :handler, :spec, '{}', 1,
        :now, :now, :lastreconciliationprocess, :lastreconciliationtime);

-- name: get_blueprint
SELECT * FROM blueprints WHERE colonyname = :colonyname AND name = :name;

-- name: get_blueprint_by_id
SELECT * FROM blueprints WHERE blueprintid = :blueprintid;

-- name: get_blueprints
-- '' for kind or locationname means any.
SELECT * FROM blueprints
WHERE colonyname = :colonyname AND (:kind = '' OR kind = :kind) AND (:locationname = '' OR locationname = :locationname)
ORDER BY name;

-- name: count_blueprints
SELECT count(*) AS n FROM blueprints
WHERE colonyname = :colonyname AND kind = :kind AND (:anywhere = 1 OR locationname = :locationname);

-- name: update_blueprint_metadata
UPDATE blueprints SET labels = :labels, annotations = :annotations, handler = :handler, updatedat = :now
WHERE colonyname = :colonyname AND name = :name;

-- name: update_blueprint_spec
-- A new spec (or a forced one) is a new generation; the same spec changes nothing.
-- processid '' (no reconciler for the kind) keeps the last reconciliation as it was.
UPDATE blueprints SET spec = :spec, generation = generation + 1,
                      lastreconciliationprocess = COALESCE(NULLIF(:processid, ''), lastreconciliationprocess),
                      lastreconciliationtime = CASE WHEN :processid = '' THEN lastreconciliationtime ELSE :now END
WHERE colonyname = :colonyname AND name = :name AND (spec <> :spec OR :force = 1);

-- name: mark_blueprint_reconciled
UPDATE blueprints SET generation = generation + :bump, lastreconciliationprocess = :processid,
                      lastreconciliationtime = :now
WHERE colonyname = :colonyname AND name = :name;

-- name: update_blueprint_status
UPDATE blueprints SET status = :status WHERE colonyname = :colonyname AND name = :name;

-- name: remove_blueprint
DELETE FROM blueprints WHERE blueprintid = :blueprintid;

-- name: add_blueprint_history
INSERT INTO blueprinthistory (historyid, blueprintid, colonyname, kind, name, generation, spec, status, changed,
                              changedby, changetype)
VALUES (:historyid, :blueprintid, :colonyname, :kind, :name, :generation, :spec, :status, :changed, :changedby,
        :changetype);

-- name: get_blueprint_history
SELECT * FROM blueprinthistory WHERE blueprintid = :blueprintid ORDER BY changed DESC, generation DESC LIMIT :count;

-- name: remove_blueprint_history
DELETE FROM blueprinthistory WHERE blueprintid = :blueprintid;

-- name: add_reconcile_cron
-- The kind's reconcile cron at a location, unless there is one (another blueprint of the kind made it).
INSERT INTO crons (cronid, colonyname, name, initiatorid, initiatorname, cronexpression, intervalsec, randomised,
                   anchor, nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph)
VALUES (:cronid, :colonyname, :name, :initiatorid, :initiatorname, '', :intervalsec, 0, :anchor, :nextrun, 0,
        :workflowspec, '', 1)
ON CONFLICT (colonyname, name) DO NOTHING;

-- name: get_reconcile_cron
SELECT cronid FROM crons WHERE colonyname = :colonyname AND name = :name;

-- name: add_blueprint_location
-- A blueprint's location is made when it names one the colony does not have (as in the Go server).
INSERT INTO locations (locationid, colonyname, name, description, longitude, latitude)
VALUES (:locationid, :colonyname, :name, :description, 0, 0)
ON CONFLICT (colonyname, name) DO NOTHING;

-- name: remove_colony_blueprintdefinitions
DELETE FROM blueprintdefinitions WHERE colonyname = :name;

-- name: remove_colony_blueprints
DELETE FROM blueprints WHERE colonyname = :name;

-- name: remove_colony_blueprinthistory
DELETE FROM blueprinthistory WHERE colonyname = :name;
