-- executors: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/executors.sql holds the statements that differ.

-- name: add_executor
INSERT INTO executors (colonyname, executorname, executorid, executortype, state, requirefuncreg, commissiontime,
                       lastheardfromtime, locationname, capabilities, allocations, blueprintid, blueprintgen, location)
VALUES (:colonyname, :executorname, :executorid, :executortype, :state, :requirefuncreg, :commissiontime,
        :lastheardfromtime, :locationname, :capabilities, :allocations, :blueprintid, :blueprintgen, :location)
ON CONFLICT (colonyname, executorname) DO UPDATE SET
    executorid = excluded.executorid, executortype = excluded.executortype, state = excluded.state,
    requirefuncreg = excluded.requirefuncreg, commissiontime = excluded.commissiontime,
    lastheardfromtime = excluded.lastheardfromtime, locationname = excluded.locationname,
    capabilities = excluded.capabilities, allocations = excluded.allocations, blueprintid = excluded.blueprintid,
    blueprintgen = excluded.blueprintgen, location = excluded.location;

-- name: get_executor
SELECT * FROM executors WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: get_executor_by_id
-- A registered row before a removed one with the same id (ids may be reused after a removal).
SELECT * FROM executors WHERE colonyname = :colonyname AND executorid = :executorid
ORDER BY CASE WHEN state = 3 THEN 1 ELSE 0 END LIMIT 1;

-- name: get_executors
-- Removed (unregistered, state 3) executors stay as rows for fencing, but no client lists them.
SELECT * FROM executors WHERE colonyname = :colonyname AND state <> 3 ORDER BY executorname;

-- name: set_executor_state
UPDATE executors SET state = :state WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: mark_executor_alive
UPDATE executors SET lastheardfromtime = :now WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: get_executor_running
SELECT * FROM processes WHERE assignedexecutorid = :executorid AND state = 1 AND colonyname = :colonyname;

-- name: set_executor_id
UPDATE executors SET executorid = :newid WHERE colonyname = :colonyname AND executorid = :oldid AND state <> 3;

-- name: move_running_processes
-- The processes an executor runs follow it to its new id (it can still close them, with its new key).
UPDATE processes SET assignedexecutorid = :newid
WHERE colonyname = :colonyname AND assignedexecutorid = :oldid AND state = 1;

-- name: is_id_used_in_colony
SELECT 1 AS used WHERE EXISTS (SELECT 1 FROM users WHERE colonyname = :colonyname AND userid = :id)
    OR EXISTS (SELECT 1 FROM executors WHERE colonyname = :colonyname AND executorid = :id AND state <> 3)
    OR EXISTS (SELECT 1 FROM colonies WHERE name = :colonyname AND colonyid = :id);

-- name: set_executor_capabilities
UPDATE executors SET capabilities = :capabilities WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: set_executor_allocations
UPDATE executors SET allocations = :allocations WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: get_executor_colonies
-- The colonies in which this id is an approved executor (a v1.7.8 subscription names no colony).
SELECT colonyname FROM executors WHERE executorid = :executorid AND state = 1 ORDER BY colonyname LIMIT 2;
