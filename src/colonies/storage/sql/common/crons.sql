-- crons: statements both backends run unchanged (see ../README.md).

-- name: add_cron
INSERT INTO crons (cronid, colonyname, name, initiatorid, initiatorname, cronexpression, intervalsec, randomised,
                   anchor, nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph)
VALUES (:cronid, :colonyname, :name, :initiatorid, :initiatorname, :cronexpression, :intervalsec, :randomised,
        :anchor, :nextrun, 0, :workflowspec, '', :waitforprevprocessgraph);

-- name: get_cron
SELECT * FROM crons WHERE cronid = :cronid;

-- name: get_crons
SELECT * FROM crons WHERE colonyname = :colonyname ORDER BY name LIMIT :count;

-- name: remove_cron
DELETE FROM crons WHERE cronid = :cronid;

-- name: remove_cron_runs
DELETE FROM cronruns WHERE cronid = :cronid;

-- name: get_due_crons
SELECT * FROM crons WHERE nextrun <= :now ORDER BY nextrun LIMIT 1000;

-- name: get_next_cron_time
SELECT MIN(CASE WHEN heldreason = '' THEN nextrun END) AS nextrun,
       SUM(CASE WHEN heldreason <> '' THEN 1 ELSE 0 END) AS held
FROM crons;

-- name: advance_cron
-- The compare-and-swap of a firing: only the caller that saw this nextrun and this previous graph advances it.
UPDATE crons SET nextrun = :nextrun, lastrun = :now, prevprocessgraphid = :processgraphid, heldreason = '',
                 heldsince = 0
WHERE cronid = :cronid AND nextrun = :expected AND prevprocessgraphid = :prev;

-- name: hold_cron
UPDATE crons SET heldreason = :reason, heldsince = CASE WHEN heldsince = 0 THEN :now ELSE heldsince END
WHERE cronid = :cronid AND nextrun = :expected;

-- name: add_cron_run
INSERT INTO cronruns (cronid, colonyname, processgraphid, scheduled, fired, reason)
VALUES (:cronid, :colonyname, :processgraphid, :scheduled, :fired, :reason);

-- name: get_cron_runs
SELECT * FROM cronruns WHERE cronid = :cronid ORDER BY runid DESC LIMIT :count;

-- name: remove_colony_crons
DELETE FROM crons WHERE colonyname = :name;

-- name: remove_colony_cronruns
DELETE FROM cronruns WHERE colonyname = :name;
