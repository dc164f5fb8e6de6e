-- executors: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/executors.sql holds the statements that differ.

-- name: add_executor
INSERT INTO executors (colonyname, executorname, executorid, executortype, state, requirefuncreg, commissiontime,
                       lastheardfromtime, locationname, capabilities, allocations, blueprintid, blueprintgen)
VALUES (:colonyname, :executorname, :executorid, :executortype, :state, :requirefuncreg, :commissiontime,
        :lastheardfromtime, :locationname, :capabilities, :allocations, :blueprintid, :blueprintgen)
ON CONFLICT (colonyname, executorname) DO UPDATE SET
    executorid = excluded.executorid, executortype = excluded.executortype, state = excluded.state,
    requirefuncreg = excluded.requirefuncreg, commissiontime = excluded.commissiontime,
    lastheardfromtime = excluded.lastheardfromtime, locationname = excluded.locationname,
    capabilities = excluded.capabilities, allocations = excluded.allocations, blueprintid = excluded.blueprintid,
    blueprintgen = excluded.blueprintgen;

-- name: get_executor
SELECT * FROM executors WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: get_executor_by_id
SELECT * FROM executors WHERE colonyname = :colonyname AND executorid = :executorid;

-- name: get_executors
SELECT * FROM executors WHERE colonyname = :colonyname ORDER BY executorname;

-- name: set_executor_state
UPDATE executors SET state = :state WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: mark_executor_alive
UPDATE executors SET lastheardfromtime = :now WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: get_executor_running
SELECT * FROM processes WHERE assignedexecutorid = :executorid AND state = 1 AND colonyname = :colonyname;
