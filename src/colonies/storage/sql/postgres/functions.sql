-- functions: what differs on postgres.

-- name: update_function_stats
-- One run more of a function by the executor with this id: every right-hand side sees the row before the update. The average is a true
-- running mean (the Go server halves old + new, a smoothing that overweights the latest run).
UPDATE functions SET counter = counter + 1,
    minwaittime = CASE WHEN counter = 0 THEN :wait ELSE LEAST(minwaittime, :wait) END,
    maxwaittime = CASE WHEN counter = 0 THEN :wait ELSE GREATEST(maxwaittime, :wait) END,
    minexectime = CASE WHEN counter = 0 THEN :exe ELSE LEAST(minexectime, :exe) END,
    maxexectime = CASE WHEN counter = 0 THEN :exe ELSE GREATEST(maxexectime, :exe) END,
    avgwaittime = avgwaittime + (:wait - avgwaittime) / (counter + 1),
    avgexectime = avgexectime + (:exe - avgexectime) / (counter + 1)
WHERE colonyname = :colonyname AND funcname = :funcname
  AND executorname = (SELECT executorname FROM executors WHERE colonyname = :colonyname AND executorid = :executorid);
