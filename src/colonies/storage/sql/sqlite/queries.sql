-- The SQLite store's own statements (the rest are in ../common/queries.sql). Lists of ids are passed as JSON
-- arrays (:ids) and expanded with json_each; SQLite has one writer, so the lock_* queries only read.

-- name: count_executors
SELECT count(*) AS n,
       coalesce(sum(state = 1), 0) AS active,
       coalesce(sum(state = 3), 0) AS unregistered
FROM executors WHERE (:colonyname = '' OR colonyname = :colonyname);

-- name: get_processes_in
SELECT * FROM processes WHERE processid IN (SELECT value FROM json_each(:ids));

-- name: get_graph_processes
SELECT * FROM processes WHERE processgraphid = :processgraphid ORDER BY submissiontime, rowid;

-- name: assign_process
UPDATE processes SET isassigned = 1, state = 1, assignedexecutorid = :executorid, starttime = :now, endtime = 0,
    assignnonce = :nonce,
    execdeadline = CASE WHEN maxexectime > 0 THEN :now + maxexectime * 1000000000 ELSE 0 END
WHERE processid = (
    SELECT processid FROM processes
    WHERE colonyname = :colonyname AND executortype = :executortype
      AND state = 0 AND isassigned = 0 AND waitforparents = 0
      AND (executornames = '[]' OR executornames = '["*"]'
           OR EXISTS (SELECT 1 FROM json_each(processes.executornames) WHERE value = :executorname))
      AND cpu <= :cpu AND mem <= :mem
      AND (locationname = '' OR lower(locationname) = lower(:locationname))
      -- Membership re-checked in the claim itself: a long-poll that outlived its executor's removal or rejection
      -- claims nothing.
      AND EXISTS (SELECT 1 FROM executors
                  WHERE executors.colonyname = :colonyname AND executors.executorid = :executorid
                    AND executors.state = 1)
    ORDER BY prioritytime LIMIT 1)
RETURNING *;

-- name: get_attributes
SELECT * FROM attributes WHERE targetid = :targetid ORDER BY added, rowid;

-- name: get_attributes_in
SELECT * FROM attributes WHERE targetid IN (SELECT value FROM json_each(:ids)) ORDER BY added, rowid;

-- name: search_logs
SELECT processid, colonyname, executorname, message, timestamp FROM logs
WHERE colonyname = :colonyname AND timestamp > :since AND instr(message, :text) > 0
ORDER BY timestamp DESC LIMIT :count;

-- name: lock_process
SELECT * FROM processes WHERE processid = :processid;

-- name: lock_graph
SELECT processgraphid FROM processgraphs WHERE processgraphid = :processgraphid;

-- name: count_down_parents
UPDATE processes SET pendingparents = pendingparents - 1
WHERE processid IN (SELECT value FROM json_each(:ids)) AND pendingparents > 0
RETURNING processid, pendingparents, state, waitforparents;

-- name: get_uncounted_in
SELECT processid FROM processes WHERE processid IN (SELECT value FROM json_each(:ids)) AND pendingparents < 0;

-- name: count_graph_size
SELECT count(*) AS nodes, coalesce(sum(json_array_length(parents)), 0) AS edges FROM processes WHERE processgraphid = :processgraphid;
