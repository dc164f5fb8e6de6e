-- generators: statements both backends run unchanged (see ../README.md).

-- name: add_generator
INSERT INTO generators (generatorid, colonyname, name, initiatorid, initiatorname, workflowspec, triggersize,
                        timeoutsec)
VALUES (:generatorid, :colonyname, :name, :initiatorid, :initiatorname, :workflowspec, :triggersize, :timeoutsec);

-- name: get_generator
SELECT * FROM generators WHERE generatorid = :generatorid;

-- name: get_generator_by_name
SELECT * FROM generators WHERE colonyname = :colonyname AND name = :name;

-- name: get_generators
-- With each generator's number of packed args (queuesize), as getgeneratormsg gives it.
SELECT g.*, (SELECT COUNT(*) FROM generatorargs a WHERE a.generatorid = g.generatorid) AS queued
FROM generators g WHERE g.colonyname = :colonyname ORDER BY g.name LIMIT :count;

-- name: count_generator_args
SELECT COUNT(*) AS n, MIN(packed) AS oldest FROM generatorargs WHERE generatorid = :generatorid;

-- name: remove_generator
DELETE FROM generators WHERE generatorid = :generatorid;

-- name: remove_generator_args
DELETE FROM generatorargs WHERE generatorid = :generatorid;

-- name: remove_generator_runs
DELETE FROM generatorruns WHERE generatorid = :generatorid;

-- name: pack_generator_arg
INSERT INTO generatorargs (generatorid, colonyname, arg, packed) VALUES (:generatorid, :colonyname, :arg, :now);

-- name: set_generator_firstpack
UPDATE generators SET firstpack = :now WHERE generatorid = :generatorid AND firstpack = 0;

-- name: get_queued_generators
-- Generators with packed args, and how many: what the generator loop looks at.
SELECT g.*, q.n AS queued
FROM generators g JOIN (SELECT generatorid, COUNT(*) AS n FROM generatorargs GROUP BY generatorid) q
     ON q.generatorid = g.generatorid;

-- name: take_generator_args
-- The oldest :count args of the generator, removed and returned (sort them by seq: RETURNING keeps no order).
DELETE FROM generatorargs
WHERE seq IN (SELECT seq FROM generatorargs WHERE generatorid = :generatorid ORDER BY seq LIMIT :count)
RETURNING seq, arg;

-- name: set_generator_lastrun
UPDATE generators SET lastrun = :now WHERE generatorid = :generatorid;

-- name: add_generator_run
INSERT INTO generatorruns (generatorid, colonyname, processgraphid, args, fired, reason)
VALUES (:generatorid, :colonyname, :processgraphid, :args, :fired, :reason);

-- name: get_generator_runs
SELECT * FROM generatorruns WHERE generatorid = :generatorid ORDER BY runid DESC LIMIT :count;

-- name: remove_colony_generators
DELETE FROM generators WHERE colonyname = :name;

-- name: remove_colony_generatorargs
DELETE FROM generatorargs WHERE colonyname = :name;

-- name: remove_colony_generatorruns
DELETE FROM generatorruns WHERE colonyname = :name;
