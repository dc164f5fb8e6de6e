-- processes: the statements PostgreSQL runs differently from sql/common/processes.sql (same names, same parameters).

-- name: get_processes_in
SELECT * FROM processes WHERE processid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)));

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
      -- Paused colonies assign nothing (a pause is a row in colonypauses); the caller tells why only when the
      -- claim comes back empty, so a claim stays one statement.
      AND NOT EXISTS (SELECT 1 FROM colonypauses WHERE colonypauses.colonyname = :colonyname)
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

-- name: lock_process
SELECT * FROM processes WHERE processid = :processid FOR UPDATE;
