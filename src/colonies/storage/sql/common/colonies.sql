-- colonies: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/colonies.sql holds the statements that differ.

-- name: add_colony
INSERT INTO colonies (name, colonyid) VALUES (:name, :colonyid);

-- name: get_colony
SELECT name, colonyid FROM colonies WHERE name = :name;

-- name: get_colonies
SELECT name, colonyid FROM colonies ORDER BY name;

-- name: set_colony_id
UPDATE colonies SET colonyid = :colonyid WHERE name = :name;

-- name: remove_colony
DELETE FROM colonies WHERE name = :name;

-- name: remove_colony_users
DELETE FROM users WHERE colonyname = :name;

-- name: remove_colony_executors
DELETE FROM executors WHERE colonyname = :name;

-- name: remove_colony_functions
DELETE FROM functions WHERE colonyname = :name;

-- name: remove_colony_processes
DELETE FROM processes WHERE colonyname = :name;

-- name: remove_colony_attributes
DELETE FROM attributes WHERE targetcolonyname = :name;

-- name: remove_colony_graphs
DELETE FROM processgraphs WHERE colonyname = :name;

-- name: remove_colony_logs
DELETE FROM logs WHERE colonyname = :name;

-- name: remove_colony_pause
DELETE FROM colonypauses WHERE colonyname = :name;

-- name: remove_colony_wiregenerations
DELETE FROM wiregenerations WHERE colonyname = :name;

-- name: get_member_executor
SELECT executorname, executortype, state, locationname, lastheardfromtime FROM executors
WHERE colonyname = :colonyname AND executorid = :id;

-- name: get_member_user
SELECT name FROM users WHERE colonyname = :colonyname AND userid = :id;
