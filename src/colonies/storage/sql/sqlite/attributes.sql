-- attributes: the statements SQLite runs differently from sql/common/attributes.sql (same names, same parameters).

-- name: get_attributes
SELECT * FROM attributes WHERE targetid = :targetid ORDER BY added, rowid;

-- name: get_attributes_in
SELECT * FROM attributes WHERE targetid IN (SELECT value FROM json_each(:ids)) ORDER BY added, rowid;

-- name: set_attributes_state_returning
-- set_attributes_state and get_attributes in one statement; _order sorts them as get_attributes does.
UPDATE attributes SET state = :state WHERE targetid = :targetid RETURNING *, rowid AS _order;
