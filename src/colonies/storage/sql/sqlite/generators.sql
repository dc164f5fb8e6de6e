-- generators: the statements SQLite runs differently from sql/common/generators.sql (same names, same parameters).

-- name: lock_generator
SELECT generatorid FROM generators WHERE generatorid = :generatorid;
