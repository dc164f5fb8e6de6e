-- logs: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/logs.sql holds the statements that differ.

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
