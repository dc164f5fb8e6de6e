-- workflows: the statements SQLite runs differently from sql/common/workflows.sql (same names, same parameters).

-- name: get_graph_processes
SELECT * FROM processes WHERE processgraphid = :processgraphid ORDER BY submissiontime, rowid;

-- name: lock_graph
SELECT processgraphid FROM processgraphs WHERE processgraphid = :processgraphid;

-- name: count_down_parents
UPDATE processes SET pendingparents = pendingparents - 1
WHERE processid IN (SELECT value FROM json_each(:ids)) AND pendingparents > 0
RETURNING processid, pendingparents, state, waitforparents;

-- name: get_uncounted_in
SELECT processid FROM processes WHERE processid IN (SELECT value FROM json_each(:ids)) AND pendingparents < 0;

-- name: count_graph_size
SELECT count(*) AS nodes, coalesce(sum(json_array_length(parents)), 0) AS edges FROM processes WHERE processgraphid = :processgraphid;
