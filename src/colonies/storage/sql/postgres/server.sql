-- server: the statements PostgreSQL runs differently from sql/common/server.sql (same names, same parameters).

-- name: count_executors
SELECT count(*) FILTER (WHERE state <> 3) AS n,
       count(*) FILTER (WHERE state = 1) AS active,
       count(*) FILTER (WHERE state = 3) AS unregistered
FROM executors WHERE (:colonyname = '' OR colonyname = :colonyname);
