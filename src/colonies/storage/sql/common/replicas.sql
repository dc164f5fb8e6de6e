-- replicas: the server processes sharing this database, as getclustermsg describes them.

-- name: beat_replica
INSERT INTO replicas (replicaid, name, host, apiport, started, heartbeat, leader)
VALUES (:replicaid, :name, :host, :apiport, :started, :now, :leader)
ON CONFLICT (replicaid) DO UPDATE SET heartbeat = excluded.heartbeat, leader = excluded.leader;

-- name: remove_replica
DELETE FROM replicas WHERE replicaid = :replicaid;

-- name: prune_replicas
DELETE FROM replicas WHERE heartbeat < :before;

-- name: get_replicas
-- The live replicas, oldest first (the leader flag is what each last wrote).
SELECT * FROM replicas WHERE heartbeat >= :since ORDER BY started, replicaid;
