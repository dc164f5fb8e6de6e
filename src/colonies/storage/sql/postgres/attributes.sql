-- attributes: the statements PostgreSQL runs differently from sql/common/attributes.sql (same names, same parameters).

-- name: get_attributes
SELECT * FROM attributes WHERE targetid = :targetid ORDER BY added, seq;

-- name: get_attributes_in
SELECT * FROM attributes WHERE targetid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)))
ORDER BY added, seq;

-- name: set_attributes_state_returning
-- set_attributes_state and get_attributes in one statement; _order sorts them as get_attributes does.
UPDATE attributes SET state = :state WHERE targetid = :targetid RETURNING *, seq AS _order;
