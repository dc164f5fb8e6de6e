-- logs: the statements SQLite runs differently from sql/common/logs.sql (same names, same parameters).

-- name: search_logs
SELECT processid, colonyname, executorname, message, timestamp FROM logs
WHERE colonyname = :colonyname AND timestamp > :since AND instr(message, :text) > 0
ORDER BY timestamp DESC LIMIT :count;
