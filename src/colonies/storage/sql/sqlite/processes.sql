-- processes: the statements SQLite runs differently from sql/common/processes.sql (same names, same parameters).

-- name: get_processes_in
SELECT * FROM processes WHERE processid IN (SELECT value FROM json_each(:ids));

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
      -- Paused colonies assign nothing (a pause is a row in colonypauses); the caller tells why only when the
      -- claim comes back empty, so a claim stays one statement.
      AND NOT EXISTS (SELECT 1 FROM colonypauses WHERE colonypauses.colonyname = :colonyname)
      -- Membership re-checked in the claim itself: a long-poll that outlived its executor's removal or rejection
      -- claims nothing.
      AND EXISTS (SELECT 1 FROM executors
                  WHERE executors.colonyname = :colonyname AND executors.executorid = :executorid
                    AND executors.state = 1)
    ORDER BY prioritytime LIMIT 1)
RETURNING *;

-- name: lock_process
SELECT * FROM processes WHERE processid = :processid;
