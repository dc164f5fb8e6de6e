-- processes: the statements PostgreSQL runs differently from sql/common/processes.sql (same names, same parameters).

-- name: get_processes_in
SELECT * FROM processes WHERE processid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)));

-- name: assign_process
-- The claim, and in the same statement its attributes' state (RUNNING), which come back as JSON in
-- _attributes_json, ordered as get_attributes orders them (NULL: none). One round trip instead of two.
WITH claimed AS (
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
    RETURNING *
), attributes_state AS (
    UPDATE attributes SET state = 1 FROM claimed WHERE attributes.targetid = claimed.processid
    RETURNING attributes.*
)
SELECT *, (SELECT json_agg(a ORDER BY a.added, a.seq) FROM attributes_state AS a) AS _attributes_json FROM claimed;

-- name: lock_process
SELECT * FROM processes WHERE processid = :processid FOR UPDATE;

-- name: close_fenced
-- sql/common's close_fenced, and in the same statement what a close changes besides the process: its attributes'
-- state, and on success the function's statistics (as update_function_stats). One round trip instead of three;
-- the job sees _also_attributes_and_stats and leaves both alone.
WITH closed AS (
    UPDATE processes SET state = :state, endtime = :now, execdeadline = 0,
        output = CASE WHEN :output = '' THEN output ELSE :output END,
        errors = CASE WHEN :errors = '' THEN errors ELSE :errors END
    WHERE processid = :processid AND isassigned = 1 AND assignedexecutorid = :executorid AND state = 1
      AND (CAST(:lease AS BIGINT) < 0 OR starttime = :lease)
    RETURNING *
), attributes_state AS (
    UPDATE attributes SET state = closed.state FROM closed WHERE attributes.targetid = closed.processid
), run AS (
    SELECT colonyname, funcname,
           CAST(GREATEST(starttime - submissiontime, 0) AS DOUBLE PRECISION) / 1e9 AS wait,
           CAST(GREATEST(:now - starttime, 0) AS DOUBLE PRECISION) / 1e9 AS exe
    FROM closed WHERE state = 2
), function_stats AS (
    UPDATE functions SET counter = counter + 1,
        minwaittime = CASE WHEN counter = 0 OR run.wait < minwaittime THEN run.wait ELSE minwaittime END,
        maxwaittime = CASE WHEN counter = 0 OR run.wait > maxwaittime THEN run.wait ELSE maxwaittime END,
        minexectime = CASE WHEN counter = 0 OR run.exe < minexectime THEN run.exe ELSE minexectime END,
        maxexectime = CASE WHEN counter = 0 OR run.exe > maxexectime THEN run.exe ELSE maxexectime END,
        avgwaittime = avgwaittime + (run.wait - avgwaittime) / (counter + 1),
        avgexectime = avgexectime + (run.exe - avgexectime) / (counter + 1)
    FROM run
    WHERE functions.colonyname = run.colonyname AND functions.funcname = run.funcname
      AND functions.executorname = (SELECT executorname FROM executors
                                    WHERE executors.colonyname = run.colonyname AND executorid = :executorid)
)
SELECT *, 1 AS _also_attributes_and_stats FROM closed;
