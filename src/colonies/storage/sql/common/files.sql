-- files and snapshots (ColonyFS metadata): statements both backends run unchanged (see ../README.md).
-- A file row is one immutable revision; the newest revision of a (label, name) has the highest seqnr.
-- "Under a label" is label = :label or a label starting with :prefix (the label and "/", or "/" for the root).

-- name: add_file
INSERT INTO files (fileid, colonyname, label, name, size, checksum, checksumalg, added, protocol, s3server, s3port,
                   s3tls, s3accesskey, s3region, s3encryptionalg, s3object, s3bucket)
VALUES (:fileid, :colonyname, :label, :name, :size, :checksum, :checksumalg, :added, :protocol, :s3server, :s3port,
        :s3tls, :s3accesskey, :s3region, :s3encryptionalg, :s3object, :s3bucket)
RETURNING *;

-- name: file_name_exists
SELECT 1 AS found FROM files WHERE colonyname = :colonyname AND label = :label AND name = :name LIMIT 1;

-- name: file_label_exists
SELECT 1 AS found FROM files WHERE colonyname = :colonyname AND label = :label LIMIT 1;

-- name: count_label_file_names
-- How many names the label holds, counted up to :limit.
SELECT COUNT(*) AS n FROM (SELECT DISTINCT name FROM files WHERE colonyname = :colonyname AND label = :label
                           LIMIT :limit) AS names;

-- name: count_colony_file_labels
-- How many labels the colony's files have, counted up to :limit.
SELECT COUNT(*) AS n FROM (SELECT DISTINCT label FROM files WHERE colonyname = :colonyname LIMIT :limit) AS labels;

-- name: get_file
SELECT * FROM files WHERE colonyname = :colonyname AND fileid = :fileid;

-- name: get_file_revisions
SELECT * FROM files WHERE colonyname = :colonyname AND label = :label AND name = :name ORDER BY seqnr DESC LIMIT :count;

-- name: get_latest_files
-- The newest revision of every name under exactly this label.
SELECT files.* FROM files
JOIN (SELECT MAX(seqnr) AS seqnr FROM files WHERE colonyname = :colonyname AND label = :label GROUP BY name) AS latest
  ON files.seqnr = latest.seqnr
ORDER BY files.name LIMIT :count;

-- name: get_file_labels
-- Labels equal to :label or starting with :prefix, each with how many file names it holds.
SELECT label AS name, COUNT(DISTINCT name) AS files FROM files
WHERE colonyname = :colonyname AND (label = :label OR substr(label, 1, length(CAST(:prefix AS TEXT))) = :prefix)
GROUP BY label ORDER BY label LIMIT :count;

-- name: get_latest_files_under
-- The newest revision of every file under the label and its sub-labels (what a snapshot freezes).
SELECT files.fileid FROM files
JOIN (SELECT MAX(seqnr) AS seqnr FROM files
      WHERE colonyname = :colonyname AND (label = :label OR substr(label, 1, length(CAST(:prefix AS TEXT))) = :prefix)
      GROUP BY label, name) AS latest
  ON files.seqnr = latest.seqnr
ORDER BY files.label, files.name LIMIT :count;

-- name: remove_file
DELETE FROM files WHERE colonyname = :colonyname AND fileid = :fileid;

-- name: remove_file_revisions
DELETE FROM files WHERE colonyname = :colonyname AND label = :label AND name = :name;

-- name: remove_colony_files
DELETE FROM files WHERE colonyname = :name;

-- name: add_snapshot
INSERT INTO snapshots (snapshotid, colonyname, label, name, fileids, added)
VALUES (:snapshotid, :colonyname, :label, :name, :fileids, :added);

-- name: get_snapshot
SELECT * FROM snapshots WHERE colonyname = :colonyname AND snapshotid = :snapshotid;

-- name: get_snapshot_by_name
SELECT * FROM snapshots WHERE colonyname = :colonyname AND name = :name;

-- name: get_snapshots
SELECT * FROM snapshots WHERE colonyname = :colonyname ORDER BY added DESC, name LIMIT :count;

-- name: remove_snapshot
DELETE FROM snapshots WHERE colonyname = :colonyname AND snapshotid = :snapshotid;


-- name: remove_colony_snapshots
DELETE FROM snapshots WHERE colonyname = :name;
