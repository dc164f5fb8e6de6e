-- users: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/users.sql holds the statements that differ.

-- name: add_user
INSERT INTO users (colonyname, name, userid, email, phone) VALUES (:colonyname, :name, :userid, :email, :phone);

-- name: get_user
SELECT colonyname, userid, name, email, phone FROM users WHERE colonyname = :colonyname AND name = :name;

-- name: get_user_by_id
SELECT colonyname, userid, name, email, phone FROM users WHERE colonyname = :colonyname AND userid = :userid;

-- name: get_users
SELECT colonyname, userid, name, email, phone FROM users WHERE colonyname = :colonyname ORDER BY name;

-- name: remove_user
DELETE FROM users WHERE colonyname = :colonyname AND name = :name;

-- name: set_user_id
UPDATE users SET userid = :newid WHERE colonyname = :colonyname AND userid = :oldid;
