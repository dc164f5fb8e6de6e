-- processes: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/processes.sql holds the statements that differ.

-- name: add_process
INSERT INTO processes (processid, colonyname, executortype, executornames, locationname, state, waitforparents,
    prioritytime, submissiontime, waitdeadline, maxretries, maxexectime, maxwaittime, cpu, mem, storage, nodes,
    processes, processespernode, funcname, nodename, label, initiatorid, initiatorname, processgraphid, parents,
    children, input, spec, pendingparents)
VALUES (:processid, :colonyname, :executortype, :executornames, :locationname, :state, :waitforparents,
    :prioritytime, :submissiontime, :waitdeadline, :maxretries, :maxexectime, :maxwaittime, :cpu, :mem, :storage,
    :nodes, :processes, :processespernode, :funcname, :nodename, :label, :initiatorid, :initiatorname,
    :processgraphid, :parents, :children, :input, :spec, :pendingparents);

-- name: add_process_returning
-- add_process and get_process in one statement.
INSERT INTO processes (processid, colonyname, executortype, executornames, locationname, state, waitforparents,
    prioritytime, submissiontime, waitdeadline, maxretries, maxexectime, maxwaittime, cpu, mem, storage, nodes,
    processes, processespernode, funcname, nodename, label, initiatorid, initiatorname, processgraphid, parents,
    children, input, spec, pendingparents)
VALUES (:processid, :colonyname, :executortype, :executornames, :locationname, :state, :waitforparents,
    :prioritytime, :submissiontime, :waitdeadline, :maxretries, :maxexectime, :maxwaittime, :cpu, :mem, :storage,
    :nodes, :processes, :processespernode, :funcname, :nodename, :label, :initiatorid, :initiatorname,
    :processgraphid, :parents, :children, :input, :spec, :pendingparents)
RETURNING *;

-- name: get_process
SELECT * FROM processes WHERE processid = :processid;

-- name: get_processes_by_priority
-- Waiting processes only (state 0, a literal: the partial index processes_waiting is then used).
SELECT * FROM processes
WHERE colonyname = :colonyname AND state = 0
  AND (:executortype = '' OR executortype = :executortype)
  AND (:initiator = '' OR initiatorname = :initiator)
  AND (:label = '' OR label = :label)
  AND (:funcname = '' OR funcname = :funcname)
ORDER BY prioritytime LIMIT :count OFFSET :offset;

-- name: get_processes_by_start
-- Running processes only (state 1, a literal: the partial index processes_started is then used).
SELECT * FROM processes
WHERE colonyname = :colonyname AND state = 1
  AND (:executortype = '' OR executortype = :executortype)
  AND (:initiator = '' OR initiatorname = :initiator)
  AND (:label = '' OR label = :label)
  AND (:funcname = '' OR funcname = :funcname)
ORDER BY starttime LIMIT :count OFFSET :offset;

-- name: get_processes_by_end
-- Ended processes only: ``state IN (2, 3, 4)`` repeats the condition of the partial index processes_ended, so the
-- planner may use it (SQLite and PostgreSQL match a partial index's condition to a query's term by its form).
SELECT * FROM processes
WHERE colonyname = :colonyname AND state = :state AND state IN (2, 3, 4)
  AND (:executortype = '' OR executortype = :executortype)
  AND (:initiator = '' OR initiatorname = :initiator)
  AND (:label = '' OR label = :label)
  AND (:funcname = '' OR funcname = :funcname)
ORDER BY endtime DESC LIMIT :count OFFSET :offset;

-- name: get_process_hist
-- One branch per partial index (waiting, running, ended); only the branch of the asked state finds rows, and each
-- repeats its index's condition so that the planner can use it.
SELECT * FROM (
    SELECT * FROM processes WHERE :state = 0 AND colonyname = :colonyname AND state = 0
    UNION ALL
    SELECT * FROM processes WHERE :state = 1 AND colonyname = :colonyname AND state = 1
    UNION ALL
    SELECT * FROM processes WHERE colonyname = :colonyname AND state = :state AND state IN (2, 3, 4)
) AS p
WHERE submissiontime >= :since AND (:executorid = '' OR assignedexecutorid = :executorid)
ORDER BY submissiontime LIMIT 1000;

-- name: set_process_input
UPDATE processes SET input = :input WHERE processid = :processid;

-- name: set_process_output
UPDATE processes SET output = :output WHERE processid = :processid;

-- name: close_process
UPDATE processes SET state = :state, endtime = :now, output = :output, errors = :errors, execdeadline = 0
WHERE processid = :processid
RETURNING *;

-- name: close_fenced
-- A close by the process's current assignment, fencing included: no row comes back when the caller is not that
-- assignment (``check_assigned`` then reads the row to tell why). '' keeps the column as it is; lease -1: none.
UPDATE processes SET state = :state, endtime = :now, execdeadline = 0,
    output = CASE WHEN :output = '' THEN output ELSE :output END,
    errors = CASE WHEN :errors = '' THEN errors ELSE :errors END
WHERE processid = :processid AND isassigned = 1 AND assignedexecutorid = :executorid AND state = 1
  AND (CAST(:lease AS BIGINT) < 0 OR starttime = :lease)
RETURNING *;

-- name: cancel_active_process
-- Guarded by state: a close that committed while the cancel waited for the row lock wins (PostgreSQL re-checks
-- the condition on the row it waited for).
UPDATE processes SET state = 4, endtime = :now, execdeadline = 0
WHERE processid = :processid AND state IN (0, 1)
RETURNING *;

-- name: requeue_process
UPDATE processes SET state = 0, isassigned = 0, assignedexecutorid = '', starttime = 0, endtime = 0,
    execdeadline = 0, retries = retries + :retry,
    waitdeadline = CASE WHEN maxwaittime > 0 THEN :now + maxwaittime * 1000000000 ELSE 0 END
WHERE processid = :processid
RETURNING *;

-- name: release_parents_wait
UPDATE processes SET waitforparents = 0,
    waitdeadline = CASE WHEN maxwaittime > 0 THEN :now + maxwaittime * 1000000000 ELSE 0 END
WHERE processid = :processid AND waitforparents = 1;

-- name: set_process_links
UPDATE processes SET parents = :parents, children = :children, waitforparents = :waitforparents,
    pendingparents = -1
WHERE processid = :processid;

-- name: get_expired_running
SELECT * FROM processes WHERE state = 1 AND maxexectime > 0 AND execdeadline < :now ORDER BY execdeadline LIMIT 1000;

-- name: get_expired_waiting
SELECT * FROM processes WHERE state = 0 AND waitdeadline > 0 AND waitdeadline < :now ORDER BY waitdeadline LIMIT 1000;

-- name: remove_process
DELETE FROM processes WHERE processid = :processid;

-- name: remove_process_attributes
DELETE FROM attributes WHERE targetid = :processid;

-- name: remove_all_processes
DELETE FROM processes WHERE colonyname = :colonyname AND processgraphid = '' AND (:state = -1 OR state = :state)
    AND state <> 1;

-- name: remove_orphan_attributes
DELETE FROM attributes WHERE targetcolonyname = :colonyname
    AND NOT EXISTS (SELECT 1 FROM processes WHERE processid = attributes.targetid);

-- name: get_claimed_by_nonce
SELECT * FROM processes WHERE assignedexecutorid = :executorid AND state = 1 AND assignnonce = :nonce;
