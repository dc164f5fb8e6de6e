-- generators: the statements PostgreSQL runs differently from sql/common/generators.sql (same names, same parameters).

-- name: lock_generator
-- Consumers of one generator's args take turns (replicas that both think they lead included).
SELECT generatorid FROM generators WHERE generatorid = :generatorid FOR UPDATE;
