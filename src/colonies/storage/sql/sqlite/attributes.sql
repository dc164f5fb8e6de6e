-- attributes: the statements SQLite runs differently from sql/common/attributes.sql (same names, same parameters).

-- name: get_attributes
SELECT * FROM attributes WHERE targetid = :targetid ORDER BY added, rowid;

-- name: get_attributes_in
SELECT * FROM attributes WHERE targetid IN (SELECT value FROM json_each(:ids)) ORDER BY added, rowid;
