-- functions: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/functions.sql holds the statements that differ.

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
-- One run more of a function by the executor with this id: every right-hand side sees the row before the update
-- (CASE, not min/LEAST, so that one statement serves both backends). The average is a true running mean (the Go
-- server halves old + new, a smoothing that overweights the latest run).
UPDATE functions SET counter = counter + 1,
    minwaittime = CASE WHEN counter = 0 OR :wait < minwaittime THEN :wait ELSE minwaittime END,
    maxwaittime = CASE WHEN counter = 0 OR :wait > maxwaittime THEN :wait ELSE maxwaittime END,
    minexectime = CASE WHEN counter = 0 OR :exe < minexectime THEN :exe ELSE minexectime END,
    maxexectime = CASE WHEN counter = 0 OR :exe > maxexectime THEN :exe ELSE maxexectime END,
    avgwaittime = avgwaittime + (:wait - avgwaittime) / (counter + 1),
    avgexectime = avgexectime + (:exe - avgexectime) / (counter + 1)
WHERE colonyname = :colonyname AND funcname = :funcname
  AND executorname = (SELECT executorname FROM executors WHERE colonyname = :colonyname AND executorid = :executorid);
