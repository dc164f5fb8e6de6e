-- workflows: the statements PostgreSQL runs differently from sql/common/workflows.sql (same names, same parameters).

-- name: get_graph_processes
SELECT * FROM processes WHERE processgraphid = :processgraphid ORDER BY submissiontime, seq;

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
