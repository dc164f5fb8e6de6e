-- Statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL driver turns
-- them into %(named)s). A backend's own queries.sql holds the statements that differ (and may override any of
-- these).

-- name: get_server_id
SELECT serverid FROM server WHERE id = 1;

-- name: set_server_id
INSERT INTO server (id, serverid) VALUES (1, :serverid)
ON CONFLICT (id) DO UPDATE SET serverid = excluded.serverid;

-- name: get_instance_id
SELECT instanceid FROM server_instance WHERE id = 1;

-- name: is_known_identity
SELECT 1 AS known WHERE EXISTS (SELECT 1 FROM server WHERE serverid = :id)
    OR EXISTS (SELECT 1 FROM colonies WHERE colonyid = :id)
    OR EXISTS (SELECT 1 FROM users WHERE userid = :id)
    OR EXISTS (SELECT 1 FROM executors WHERE executorid = :id AND state = 1);

-- name: add_colony
INSERT INTO colonies (name, colonyid) VALUES (:name, :colonyid);

-- name: get_colony
SELECT name, colonyid FROM colonies WHERE name = :name;

-- name: get_colonies
SELECT name, colonyid FROM colonies ORDER BY name;

-- name: set_colony_id
UPDATE colonies SET colonyid = :colonyid WHERE name = :name;

-- name: remove_colony
DELETE FROM colonies WHERE name = :name;

-- name: remove_colony_users
DELETE FROM users WHERE colonyname = :name;

-- name: remove_colony_executors
DELETE FROM executors WHERE colonyname = :name;

-- name: remove_colony_functions
DELETE FROM functions WHERE colonyname = :name;

-- name: remove_colony_processes
DELETE FROM processes WHERE colonyname = :name;

-- name: remove_colony_attributes
DELETE FROM attributes WHERE targetcolonyname = :name;

-- name: remove_colony_graphs
DELETE FROM processgraphs WHERE colonyname = :name;

-- name: remove_colony_logs
DELETE FROM logs WHERE colonyname = :name;

-- name: count_colonies
SELECT count(*) AS n FROM colonies;

-- name: get_member_executor
SELECT executorname, executortype, state, locationname, lastheardfromtime FROM executors
WHERE colonyname = :colonyname AND executorid = :id;

-- name: get_member_user
SELECT name FROM users WHERE colonyname = :colonyname AND userid = :id;

-- name: add_user
INSERT INTO users (colonyname, name, userid, email, phone) VALUES (:colonyname, :name, :userid, :email, :phone);

-- name: get_user
SELECT colonyname, userid, name, email, phone FROM users WHERE colonyname = :colonyname AND name = :name;

-- name: get_user_by_id
SELECT colonyname, userid, name, email, phone FROM users WHERE colonyname = :colonyname AND userid = :userid;

-- name: get_users
SELECT colonyname, userid, name, email, phone FROM users WHERE colonyname = :colonyname ORDER BY name;

-- name: remove_user
DELETE FROM users WHERE colonyname = :colonyname AND name = :name;

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

-- name: add_function
INSERT INTO functions (functionid, colonyname, executorname, executortype, funcname, description, args, locationname)
VALUES (:functionid, :colonyname, :executorname, :executortype, :funcname, :description, :args, :locationname);

-- name: get_function
SELECT * FROM functions WHERE functionid = :functionid;

-- name: get_function_by_name
SELECT * FROM functions WHERE colonyname = :colonyname AND executorname = :executorname AND funcname = :funcname;

-- name: get_functions
SELECT * FROM functions WHERE colonyname = :colonyname AND (:executorname = '' OR executorname = :executorname)
ORDER BY executorname, funcname;

-- name: remove_function
DELETE FROM functions WHERE functionid = :functionid;

-- name: remove_executor_functions
DELETE FROM functions WHERE colonyname = :colonyname AND executorname = :executorname;

-- name: update_function_stats
UPDATE functions SET counter = :counter, minwaittime = :minwaittime, maxwaittime = :maxwaittime,
    minexectime = :minexectime, maxexectime = :maxexectime, avgwaittime = :avgwaittime, avgexectime = :avgexectime
WHERE functionid = :functionid;

-- name: add_process
INSERT INTO processes (processid, colonyname, executortype, executornames, locationname, state, waitforparents,
    prioritytime, submissiontime, waitdeadline, maxretries, maxexectime, maxwaittime, cpu, mem, storage, nodes,
    processes, processespernode, funcname, nodename, label, initiatorid, initiatorname, processgraphid, parents,
    children, input, spec, pendingparents)
VALUES (:processid, :colonyname, :executortype, :executornames, :locationname, :state, :waitforparents,
    :prioritytime, :submissiontime, :waitdeadline, :maxretries, :maxexectime, :maxwaittime, :cpu, :mem, :storage,
    :nodes, :processes, :processespernode, :funcname, :nodename, :label, :initiatorid, :initiatorname,
    :processgraphid, :parents, :children, :input, :spec, :pendingparents);

-- name: get_process
SELECT * FROM processes WHERE processid = :processid;

-- name: get_processes_by_priority
SELECT * FROM processes
WHERE colonyname = :colonyname AND state = :state
  AND (:executortype = '' OR executortype = :executortype)
  AND (:initiator = '' OR initiatorname = :initiator)
  AND (:label = '' OR label = :label)
ORDER BY prioritytime LIMIT :count;

-- name: get_processes_by_start
SELECT * FROM processes
WHERE colonyname = :colonyname AND state = :state
  AND (:executortype = '' OR executortype = :executortype)
  AND (:initiator = '' OR initiatorname = :initiator)
  AND (:label = '' OR label = :label)
ORDER BY starttime LIMIT :count;

-- name: get_processes_by_end
SELECT * FROM processes
WHERE colonyname = :colonyname AND state = :state
  AND (:executortype = '' OR executortype = :executortype)
  AND (:initiator = '' OR initiatorname = :initiator)
  AND (:label = '' OR label = :label)
ORDER BY endtime DESC LIMIT :count;

-- name: get_process_hist
SELECT * FROM processes
WHERE colonyname = :colonyname AND state = :state AND submissiontime >= :since
  AND (:executorid = '' OR assignedexecutorid = :executorid)
ORDER BY submissiontime LIMIT 1000;

-- name: count_processes
SELECT state, count(*) AS n FROM processes WHERE (:colonyname = '' OR colonyname = :colonyname) GROUP BY state;

-- name: count_waiting_by_type
SELECT colonyname, executortype, count(*) AS n FROM processes WHERE state = 0 GROUP BY colonyname, executortype;

-- name: count_graph_process_states
SELECT state, count(*) AS n FROM processes WHERE processgraphid = :processgraphid GROUP BY state;

-- name: set_process_input
UPDATE processes SET input = :input WHERE processid = :processid;

-- name: set_process_output
UPDATE processes SET output = :output WHERE processid = :processid;

-- name: close_process
UPDATE processes SET state = :state, endtime = :now, output = :output, errors = :errors, execdeadline = 0
WHERE processid = :processid
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

-- name: set_attributes_state
UPDATE attributes SET state = :state WHERE targetid = :targetid;

-- name: get_expired_running
SELECT * FROM processes WHERE state = 1 AND maxexectime > 0 AND execdeadline < :now ORDER BY execdeadline LIMIT 1000;

-- name: get_expired_waiting
SELECT * FROM processes WHERE state = 0 AND waitdeadline > 0 AND waitdeadline < :now ORDER BY waitdeadline LIMIT 1000;

-- name: get_executor_running
SELECT * FROM processes WHERE assignedexecutorid = :executorid AND state = 1 AND colonyname = :colonyname;

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

-- name: add_attribute
INSERT INTO attributes (attributeid, targetid, targetcolonyname, targetprocessgraphid, state, attributetype, key,
    value, added)
VALUES (:attributeid, :targetid, :targetcolonyname, :targetprocessgraphid, :state, :attributetype, :key, :value, :added);

-- name: get_attribute
SELECT * FROM attributes WHERE attributeid = :attributeid;

-- name: add_graph
INSERT INTO processgraphs (processgraphid, colonyname, rootprocessids, state, submissiontime, initiatorid,
    initiatorname)
VALUES (:processgraphid, :colonyname, :rootprocessids, :state, :submissiontime, :initiatorid, :initiatorname);

-- name: get_graph
SELECT * FROM processgraphs WHERE processgraphid = :processgraphid;

-- name: get_graphs
SELECT * FROM processgraphs WHERE colonyname = :colonyname AND state = :state
ORDER BY submissiontime DESC LIMIT :count;

-- name: set_graph_state
UPDATE processgraphs SET state = :state, starttime = :starttime, endtime = :endtime
WHERE processgraphid = :processgraphid;

-- name: remove_graph
DELETE FROM processgraphs WHERE processgraphid = :processgraphid;

-- name: remove_graph_processes
DELETE FROM processes WHERE processgraphid = :processgraphid;

-- name: remove_graph_attributes
DELETE FROM attributes WHERE targetprocessgraphid = :processgraphid;

-- name: get_graph_ids
SELECT processgraphid FROM processgraphs WHERE colonyname = :colonyname AND (:state = -1 OR state = :state)
    AND state <> 1;

-- name: count_graphs
SELECT state, count(*) AS n FROM processgraphs WHERE (:colonyname = '' OR colonyname = :colonyname) GROUP BY state;

-- name: add_log
INSERT INTO logs (processid, colonyname, executorname, message, timestamp)
VALUES (:processid, :colonyname, :executorname, :message, :timestamp);

-- name: get_logs_by_process
SELECT processid, colonyname, executorname, message, timestamp FROM logs
WHERE processid = :processid AND timestamp > :since ORDER BY timestamp, logid LIMIT :count;

-- name: get_latest_logs_by_process
SELECT processid, colonyname, executorname, message, timestamp FROM logs
WHERE processid = :processid ORDER BY timestamp DESC, logid DESC LIMIT :count;

-- name: get_logs_by_executor
SELECT processid, colonyname, executorname, message, timestamp FROM logs
WHERE colonyname = :colonyname AND executorname = :executorname AND timestamp > :since
ORDER BY timestamp, logid LIMIT :count;

-- name: get_latest_logs_by_executor
SELECT processid, colonyname, executorname, message, timestamp FROM logs
WHERE colonyname = :colonyname AND executorname = :executorname ORDER BY timestamp DESC, logid DESC LIMIT :count;

-- name: use_nonce
INSERT INTO nonces (caller, nonce, expires) VALUES (:caller, :nonce, :expires) ON CONFLICT DO NOTHING;

-- name: purge_nonces
DELETE FROM nonces WHERE expires < :now;

-- name: get_claimed_by_nonce
SELECT * FROM processes WHERE assignedexecutorid = :executorid AND state = 1 AND assignnonce = :nonce;
