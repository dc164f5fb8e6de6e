-- workflows: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/workflows.sql holds the statements that differ.

-- name: count_graph_process_states
SELECT state, count(*) AS n FROM processes WHERE processgraphid = :processgraphid GROUP BY state;

-- name: add_graph
INSERT INTO processgraphs (processgraphid, colonyname, rootprocessids, state, submissiontime, initiatorid,
    initiatorname)
VALUES (:processgraphid, :colonyname, :rootprocessids, :state, :submissiontime, :initiatorid, :initiatorname);

-- name: get_graph
SELECT * FROM processgraphs WHERE processgraphid = :processgraphid;

-- name: get_graphs
SELECT * FROM processgraphs WHERE colonyname = :colonyname AND state = :state
ORDER BY submissiontime DESC LIMIT :count OFFSET :offset;

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
