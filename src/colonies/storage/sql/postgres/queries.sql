-- The PostgreSQL store's own statements (the rest are in ../common/queries.sql). Lists of ids are passed as JSON
-- arrays (:ids) and expanded with jsonb. The assign claim uses FOR UPDATE SKIP LOCKED; the lock_* queries take
-- row locks, always a process before its graph (as assign does), so jobs never wait on each other in a cycle.

-- name: count_executors
SELECT count(*) AS n,
       count(*) FILTER (WHERE state = 1) AS active,
       count(*) FILTER (WHERE state = 3) AS unregistered
FROM executors WHERE (:colonyname = '' OR colonyname = :colonyname);

-- name: get_processes_in
SELECT * FROM processes WHERE processid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)));

-- name: get_graph_processes
SELECT * FROM processes WHERE processgraphid = :processgraphid ORDER BY submissiontime, seq;

-- name: assign_process
UPDATE processes SET isassigned = 1, state = 1, assignedexecutorid = :executorid, starttime = :now, endtime = 0,
    assignnonce = :nonce,
    execdeadline = CASE WHEN maxexectime > 0 THEN :now + maxexectime * 1000000000 ELSE 0 END
WHERE processid = (
    SELECT processid FROM processes
    WHERE colonyname = :colonyname AND executortype = :executortype
      AND state = 0 AND isassigned = 0 AND waitforparents = 0
      AND (executornames = '[]' OR executornames = '["*"]'
           OR CAST(executornames AS jsonb) ? :executorname)
      AND cpu <= :cpu AND mem <= :mem
      AND (locationname = '' OR lower(locationname) = lower(:locationname))
      -- Membership re-checked in the claim itself: a long-poll that outlived its executor's removal or rejection
      -- claims nothing. FOR SHARE orders the claim with a concurrent removal/rejection (which updates this row):
      -- either the claim sees the new state, or the removal waits and then finds (and requeues) what was claimed.
      AND EXISTS (SELECT 1 FROM executors
                  WHERE executors.colonyname = :colonyname AND executors.executorid = :executorid
                    AND executors.state = 1
                  FOR SHARE)
    ORDER BY prioritytime LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: get_attributes
SELECT * FROM attributes WHERE targetid = :targetid ORDER BY added, seq;

-- name: get_attributes_in
SELECT * FROM attributes WHERE targetid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)))
ORDER BY added, seq;

-- name: search_logs
SELECT processid, colonyname, executorname, message, timestamp FROM logs
WHERE colonyname = :colonyname AND timestamp > :since AND strpos(message, :text) > 0
ORDER BY timestamp DESC LIMIT :count;

-- name: lock_process
SELECT * FROM processes WHERE processid = :processid FOR UPDATE;

-- name: lock_graph
SELECT processgraphid FROM processgraphs WHERE processgraphid = :processgraphid FOR UPDATE;

-- name: count_down_parents
UPDATE processes SET pendingparents = pendingparents - 1
WHERE processid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb))) AND pendingparents > 0
RETURNING processid, pendingparents, state, waitforparents;

-- name: get_uncounted_in
SELECT processid FROM processes WHERE processid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb))) AND pendingparents < 0;

-- name: count_graph_size
SELECT count(*) AS nodes, coalesce(sum(jsonb_array_length(CAST(parents AS jsonb))), 0) AS edges FROM processes WHERE processgraphid = :processgraphid;
