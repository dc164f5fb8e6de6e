-- attributes: the statements PostgreSQL runs differently from sql/common/attributes.sql (same names, same parameters).

-- name: get_attributes
SELECT * FROM attributes WHERE targetid = :targetid ORDER BY added, seq;

-- name: get_attributes_in
SELECT * FROM attributes WHERE targetid IN (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)))
ORDER BY added, seq;
