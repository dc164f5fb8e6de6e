-- server: the statements SQLite runs differently from sql/common/server.sql (same names, same parameters).

-- name: count_executors
SELECT coalesce(sum(state <> 3), 0) AS n,
       coalesce(sum(state = 1), 0) AS active,
       coalesce(sum(state = 3), 0) AS unregistered
FROM executors WHERE (:colonyname = '' OR colonyname = :colonyname);
