-- wire: which generation of the Go wire (v1.7.8 or v1.9) a signer's client last showed it speaks in a colony.

-- name: get_wire_generation
SELECT generation FROM wiregenerations WHERE colonyname = :colonyname AND identity = :identity;

-- name: set_wire_generation
INSERT INTO wiregenerations (colonyname, identity, generation, updated)
VALUES (:colonyname, :identity, :generation, :now)
ON CONFLICT (colonyname, identity) DO UPDATE SET generation = excluded.generation, updated = excluded.updated;
