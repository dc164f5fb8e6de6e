-- server: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/server.sql holds the statements that differ.

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

-- name: count_colonies
SELECT count(*) AS n FROM colonies;

-- name: count_processes
-- A count per partial index (waiting, running, ended), each an index-only scan.
SELECT 0 AS state, count(*) AS n FROM processes WHERE (:colonyname = '' OR colonyname = :colonyname) AND state = 0
UNION ALL
SELECT 1 AS state, count(*) AS n FROM processes WHERE (:colonyname = '' OR colonyname = :colonyname) AND state = 1
UNION ALL
SELECT state, count(*) AS n FROM processes WHERE (:colonyname = '' OR colonyname = :colonyname)
    AND state IN (2, 3, 4) GROUP BY state;

-- name: count_waiting_by_type
SELECT colonyname, executortype, count(*) AS n FROM processes WHERE state = 0 GROUP BY colonyname, executortype;

-- name: count_graphs
SELECT state, count(*) AS n FROM processgraphs WHERE (:colonyname = '' OR colonyname = :colonyname) GROUP BY state;

-- name: use_nonce
INSERT INTO request_nonces (issued, caller, nonce) VALUES (:issued, :caller, :nonce) ON CONFLICT DO NOTHING;

-- name: purge_nonces
DELETE FROM request_nonces WHERE issued < :before;
