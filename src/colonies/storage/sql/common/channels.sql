-- channels: statements both backends run unchanged, one block per name (see sql/README.md). The log of a channel
-- is channel_entries ordered by pos; channels.entries is the last pos given out.

-- name: get_channel
SELECT entries FROM channels WHERE processid = :processid AND name = :name;

-- name: add_channel
INSERT INTO channels (processid, name, entries) VALUES (:processid, :name, 0);

-- name: set_channel_entries
UPDATE channels SET entries = :entries WHERE processid = :processid AND name = :name;

-- name: add_channel_entry
INSERT INTO channel_entries (processid, name, pos, sequence, inreplyto, timestamp, senderid, type, size, payload)
VALUES (:processid, :name, :pos, :sequence, :inreplyto, :timestamp, :senderid, :type, :size, :payload);

-- name: get_channel_sizes
-- Where a read stops: the sizes of the next entries, without their payloads.
SELECT pos, size FROM channel_entries WHERE processid = :processid AND name = :name AND pos > :after
ORDER BY pos LIMIT :limit;

-- name: get_channel_entries
SELECT pos, sequence, inreplyto, timestamp, senderid, type, payload FROM channel_entries
WHERE processid = :processid AND name = :name AND pos > :after AND pos <= :last ORDER BY pos;

-- name: get_channel_rate
SELECT tokens, refilled FROM channel_rates WHERE processid = :processid;

-- name: add_channel_rate
INSERT INTO channel_rates (processid, colonyname, tokens, refilled) VALUES (:processid, :colonyname, :tokens, :now);

-- name: set_channel_rate
UPDATE channel_rates SET tokens = :tokens, refilled = :now WHERE processid = :processid;

-- name: get_orphan_channel_processes
-- Processes removed (with their colony, graph or a removeall) whose channels are still stored.
SELECT processid FROM channel_rates WHERE colonyname = :colonyname
    AND NOT EXISTS (SELECT 1 FROM processes WHERE processes.processid = channel_rates.processid);

-- name: remove_process_channels
DELETE FROM channels WHERE processid = :processid;

-- name: remove_process_channel_entries
DELETE FROM channel_entries WHERE processid = :processid;

-- name: remove_process_channel_rate
DELETE FROM channel_rates WHERE processid = :processid;
