-- locations: statements both backends run unchanged (see ../README.md).

-- name: add_location
INSERT INTO locations (locationid, colonyname, name, description, longitude, latitude)
VALUES (:locationid, :colonyname, :name, :description, :longitude, :latitude);

-- name: get_location
SELECT * FROM locations WHERE colonyname = :colonyname AND name = :name;

-- name: get_locations
SELECT * FROM locations WHERE colonyname = :colonyname ORDER BY name;

-- name: remove_location
DELETE FROM locations WHERE colonyname = :colonyname AND name = :name;

-- name: remove_colony_locations
DELETE FROM locations WHERE colonyname = :name;
