-- attributes: statements both backends run unchanged, one block per name. Parameters are :named (the PostgreSQL
-- driver turns them into %(named)s); sql/<backend>/attributes.sql holds the statements that differ.

-- name: set_attributes_state
UPDATE attributes SET state = :state WHERE targetid = :targetid;

-- name: add_attribute
INSERT INTO attributes (attributeid, targetid, targetcolonyname, targetprocessgraphid, state, attributetype, key,
    value, added)
VALUES (:attributeid, :targetid, :targetcolonyname, :targetprocessgraphid, :state, :attributetype, :key, :value, :added);

-- name: add_attribute_returning
INSERT INTO attributes (attributeid, targetid, targetcolonyname, targetprocessgraphid, state, attributetype, key,
    value, added)
VALUES (:attributeid, :targetid, :targetcolonyname, :targetprocessgraphid, :state, :attributetype, :key, :value, :added)
RETURNING *;

-- name: get_attribute
SELECT * FROM attributes WHERE attributeid = :attributeid;
