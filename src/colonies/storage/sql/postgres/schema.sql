-- Colonies schema for PostgreSQL. Times are BIGINT Unix nanoseconds (0 = unset); lists and objects are JSON text
-- (the same row shapes as the SQLite store, so the storage logic and the views are shared).

CREATE TABLE IF NOT EXISTS server (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    serverid TEXT NOT NULL
);

-- A random id per database, so a signed request can name the server it is for (its "audience").
CREATE TABLE IF NOT EXISTS server_instance (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    instanceid TEXT NOT NULL
);
INSERT INTO server_instance (id, instanceid) VALUES (1, md5(random()::text || clock_timestamp()::text)) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS colonies (
    name TEXT PRIMARY KEY,
    colonyid TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    colonyname TEXT NOT NULL,
    name TEXT NOT NULL,
    userid TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (colonyname, name)
);
CREATE INDEX IF NOT EXISTS users_id ON users (colonyname, userid);
CREATE INDEX IF NOT EXISTS users_userid ON users (userid);

CREATE TABLE IF NOT EXISTS executors (
    colonyname TEXT NOT NULL,
    executorname TEXT NOT NULL,
    executorid TEXT NOT NULL,
    executortype TEXT NOT NULL,
    state BIGINT NOT NULL,
    requirefuncreg BIGINT NOT NULL DEFAULT 0,
    commissiontime BIGINT NOT NULL DEFAULT 0,
    lastheardfromtime BIGINT NOT NULL DEFAULT 0,
    locationname TEXT NOT NULL DEFAULT '',
    capabilities TEXT NOT NULL DEFAULT '{}',
    allocations TEXT NOT NULL DEFAULT '{}',
    blueprintid TEXT NOT NULL DEFAULT '',
    blueprintgen BIGINT NOT NULL DEFAULT 0,
    -- v1.7.8 clients' location object {long, lat, desc} as sent ('' = none; v1.9 clients send locationname).
    location TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (colonyname, executorname)
);
CREATE INDEX IF NOT EXISTS executors_id ON executors (colonyname, executorid);
CREATE INDEX IF NOT EXISTS executors_executorid ON executors (executorid);

CREATE TABLE IF NOT EXISTS functions (
    functionid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    executorname TEXT NOT NULL,
    executortype TEXT NOT NULL,
    funcname TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    args TEXT NOT NULL DEFAULT '[]',
    counter BIGINT NOT NULL DEFAULT 0,
    minwaittime DOUBLE PRECISION NOT NULL DEFAULT 0,
    maxwaittime DOUBLE PRECISION NOT NULL DEFAULT 0,
    minexectime DOUBLE PRECISION NOT NULL DEFAULT 0,
    maxexectime DOUBLE PRECISION NOT NULL DEFAULT 0,
    avgwaittime DOUBLE PRECISION NOT NULL DEFAULT 0,
    avgexectime DOUBLE PRECISION NOT NULL DEFAULT 0,
    locationname TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS functions_executor ON functions (colonyname, executorname, funcname);

CREATE TABLE IF NOT EXISTS processes (
    seq BIGSERIAL,
    processid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    executortype TEXT NOT NULL,
    executornames TEXT NOT NULL DEFAULT '[]',
    locationname TEXT NOT NULL DEFAULT '',
    state BIGINT NOT NULL,
    isassigned BIGINT NOT NULL DEFAULT 0,
    assignedexecutorid TEXT NOT NULL DEFAULT '',
    waitforparents BIGINT NOT NULL DEFAULT 0,
    -- Parents not yet succeeded (a successful close counts it down: readiness in O(children)); -1 = unknown,
    -- check the parents themselves (rows from before this column, and rows re-linked by addchildmsg).
    pendingparents BIGINT NOT NULL DEFAULT -1,
    -- The nonce of the assign request that claimed it: a retry of that request (its reply was lost) gets it again.
    assignnonce TEXT NOT NULL DEFAULT '',
    prioritytime BIGINT NOT NULL,
    submissiontime BIGINT NOT NULL,
    starttime BIGINT NOT NULL DEFAULT 0,
    endtime BIGINT NOT NULL DEFAULT 0,
    waitdeadline BIGINT NOT NULL DEFAULT 0,
    execdeadline BIGINT NOT NULL DEFAULT 0,
    retries BIGINT NOT NULL DEFAULT 0,
    maxretries BIGINT NOT NULL DEFAULT 0,
    maxexectime BIGINT NOT NULL DEFAULT 0,
    maxwaittime BIGINT NOT NULL DEFAULT 0,
    cpu BIGINT NOT NULL DEFAULT 0,
    mem BIGINT NOT NULL DEFAULT 0,
    storage BIGINT NOT NULL DEFAULT 0,
    nodes BIGINT NOT NULL DEFAULT 0,
    processes BIGINT NOT NULL DEFAULT 0,
    processespernode BIGINT NOT NULL DEFAULT 0,
    funcname TEXT NOT NULL DEFAULT '',
    nodename TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    initiatorid TEXT NOT NULL DEFAULT '',
    initiatorname TEXT NOT NULL DEFAULT '',
    processgraphid TEXT NOT NULL DEFAULT '',
    parents TEXT NOT NULL DEFAULT '[]',
    children TEXT NOT NULL DEFAULT '[]',
    input TEXT NOT NULL DEFAULT '[]',
    output TEXT NOT NULL DEFAULT '[]',
    errors TEXT NOT NULL DEFAULT '[]',
    spec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS processes_assign ON processes (colonyname, executortype, prioritytime)
    WHERE state = 0 AND isassigned = 0 AND waitforparents = 0;
-- A colony's processes are listed (and counted) by state through three partial indexes, waiting, running and
-- ended, and an executor's running processes through a fourth: a process is in one of them at a time, so a state
-- change moves it from one to the next (indexes on every row with the state in their key were rewritten at each
-- change, up to six of them). Queries on them repeat the index's condition as a literal, as both planners need;
-- ``state`` ends the waiting and running keys so that counting by state reads the indexes alone.
DROP INDEX IF EXISTS processes_colony_state;
DROP INDEX IF EXISTS processes_colony_start;
DROP INDEX IF EXISTS processes_colony_end;
DROP INDEX IF EXISTS processes_assigned;
CREATE INDEX IF NOT EXISTS processes_waiting ON processes (colonyname, prioritytime, state) WHERE state = 0;
CREATE INDEX IF NOT EXISTS processes_started ON processes (colonyname, starttime, state) WHERE state = 1;
CREATE INDEX IF NOT EXISTS processes_ended ON processes (colonyname, state, endtime) WHERE state IN (2, 3, 4);
CREATE INDEX IF NOT EXISTS processes_graph ON processes (processgraphid);
CREATE INDEX IF NOT EXISTS processes_running ON processes (execdeadline) WHERE state = 1 AND maxexectime > 0;
CREATE INDEX IF NOT EXISTS processes_waitdeadline ON processes (waitdeadline) WHERE state = 0 AND waitdeadline > 0;
CREATE INDEX IF NOT EXISTS processes_running_on ON processes (assignedexecutorid, colonyname) WHERE state = 1;

CREATE TABLE IF NOT EXISTS attributes (
    seq BIGSERIAL,
    attributeid TEXT PRIMARY KEY,
    targetid TEXT NOT NULL,
    targetcolonyname TEXT NOT NULL,
    targetprocessgraphid TEXT NOT NULL DEFAULT '',
    state BIGINT NOT NULL DEFAULT 0,
    attributetype BIGINT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    added BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS attributes_target ON attributes (targetid);

CREATE TABLE IF NOT EXISTS processgraphs (
    processgraphid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    rootprocessids TEXT NOT NULL DEFAULT '[]',
    state BIGINT NOT NULL,
    submissiontime BIGINT NOT NULL,
    starttime BIGINT NOT NULL DEFAULT 0,
    endtime BIGINT NOT NULL DEFAULT 0,
    initiatorid TEXT NOT NULL DEFAULT '',
    initiatorname TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS processgraphs_colony ON processgraphs (colonyname, state, submissiontime);

CREATE TABLE IF NOT EXISTS logs (
    logid BIGSERIAL PRIMARY KEY,
    processid TEXT NOT NULL,
    colonyname TEXT NOT NULL,
    executorname TEXT NOT NULL,
    message TEXT NOT NULL,
    timestamp BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_process ON logs (processid, timestamp);
CREATE INDEX IF NOT EXISTS logs_executor ON logs (executorname, timestamp);
CREATE INDEX IF NOT EXISTS logs_colony ON logs (colonyname, timestamp);

-- Replay protection: request nonces seen within the replay window (one row per signed write that carried one).
-- ``issued`` is the time the nonce itself carries (<ns>-<hex>), so a replay has the same key, and the key grows
-- with time: a batch of requests appends to one page, and forgetting a window's nonces deletes the keys at the
-- start (one structure: the earlier table, keyed by (caller, nonce) with an index on its expiry, wrote three
-- pages per request, the random (caller, nonce) one among them).
CREATE TABLE IF NOT EXISTS request_nonces (
    issued BIGINT NOT NULL,
    caller TEXT NOT NULL,
    nonce TEXT NOT NULL,
    PRIMARY KEY (issued, caller, nonce)
);
-- A database of an earlier release: its nonces move over (they stay refused until their window ends).
DO $$
BEGIN
    IF to_regclass('nonces') IS NOT NULL THEN
        INSERT INTO request_nonces (issued, caller, nonce)
        SELECT CAST(split_part(nonce, '-', 1) AS BIGINT), caller, nonce FROM nonces ON CONFLICT DO NOTHING;
        DROP TABLE nonces;
    END IF;
END $$;

-- Databases created before pendingparents existed.
ALTER TABLE processes ADD COLUMN IF NOT EXISTS pendingparents BIGINT NOT NULL DEFAULT -1;
ALTER TABLE processes ADD COLUMN IF NOT EXISTS assignnonce TEXT NOT NULL DEFAULT '';
ALTER TABLE executors ADD COLUMN IF NOT EXISTS location TEXT NOT NULL DEFAULT '';

-- crons: a workflow started on a schedule. nextrun is the next scheduled time (ns); a firing advances it with a
-- compare-and-swap, so a tick fires once even if two replicas both think they lead. anchor fixes interval windows.
CREATE TABLE IF NOT EXISTS crons (
    cronid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    name TEXT NOT NULL,
    initiatorid TEXT NOT NULL DEFAULT '',
    initiatorname TEXT NOT NULL DEFAULT '',
    cronexpression TEXT NOT NULL DEFAULT '',
    intervalsec BIGINT NOT NULL DEFAULT -1,
    randomised BIGINT NOT NULL DEFAULT 0,
    anchor BIGINT NOT NULL DEFAULT 0,
    nextrun BIGINT NOT NULL DEFAULT 0,
    lastrun BIGINT NOT NULL DEFAULT 0,
    workflowspec TEXT NOT NULL,
    prevprocessgraphid TEXT NOT NULL DEFAULT '',
    waitforprevprocessgraph BIGINT NOT NULL DEFAULT 0,
    -- Why a due run is held (waiting for the previous workflow), and since when; '' / 0 when not held.
    heldreason TEXT NOT NULL DEFAULT '',
    heldsince BIGINT NOT NULL DEFAULT 0,
    UNIQUE (colonyname, name)
);
CREATE INDEX IF NOT EXISTS crons_nextrun ON crons (nextrun);

-- Every firing of a cron: which graph it started, when it was due, when it fired, and why (schedule, run,
-- catch-up after downtime, or after waiting for the previous workflow).
CREATE TABLE IF NOT EXISTS cronruns (
    runid BIGSERIAL PRIMARY KEY,
    cronid TEXT NOT NULL,
    colonyname TEXT NOT NULL,
    processgraphid TEXT NOT NULL,
    scheduled BIGINT NOT NULL,
    fired BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS cronruns_cron ON cronruns (cronid, runid);

-- generators: packed string arguments batched into workflows (protocol §6.1). Arguments are consumed in pack order
-- (seq), each by exactly one workflow: the consuming transaction locks the generator row and deletes the args it uses.
CREATE TABLE IF NOT EXISTS generators (
    generatorid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    name TEXT NOT NULL,
    initiatorid TEXT NOT NULL DEFAULT '',
    initiatorname TEXT NOT NULL DEFAULT '',
    workflowspec TEXT NOT NULL,
    triggersize BIGINT NOT NULL,
    timeoutsec BIGINT NOT NULL DEFAULT 0,
    firstpack BIGINT NOT NULL DEFAULT 0,
    lastrun BIGINT NOT NULL DEFAULT 0,
    UNIQUE (colonyname, name)
);

CREATE TABLE IF NOT EXISTS generatorargs (
    seq BIGSERIAL PRIMARY KEY,
    generatorid TEXT NOT NULL,
    colonyname TEXT NOT NULL,
    arg TEXT NOT NULL,
    packed BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS generatorargs_queue ON generatorargs (generatorid, seq);

-- Every workflow a generator started: how many args, when, and why (trigger reached, or timeout).
CREATE TABLE IF NOT EXISTS generatorruns (
    runid BIGSERIAL PRIMARY KEY,
    generatorid TEXT NOT NULL,
    colonyname TEXT NOT NULL,
    processgraphid TEXT NOT NULL,
    args BIGINT NOT NULL,
    fired BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS generatorruns_generator ON generatorruns (generatorid, runid);

-- locations: named places (with coordinates) that executors and processes refer to by name.
CREATE TABLE IF NOT EXISTS locations (
    locationid TEXT NOT NULL,
    colonyname TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    longitude DOUBLE PRECISION NOT NULL DEFAULT 0,
    latitude DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (colonyname, name)
);

-- files (ColonyFS metadata): one row per immutable revision of (colonyname, label, name); the bytes are in S3 or a
-- client's local store. seqnr (a sequence) orders revisions, the newest has the highest. The S3 secret key and
-- encryption key are never stored.
CREATE TABLE IF NOT EXISTS files (
    seqnr BIGSERIAL PRIMARY KEY,
    fileid TEXT NOT NULL UNIQUE,
    colonyname TEXT NOT NULL,
    label TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    checksum TEXT NOT NULL,
    checksumalg TEXT NOT NULL,
    added BIGINT NOT NULL,
    protocol TEXT NOT NULL,
    s3server TEXT NOT NULL DEFAULT '',
    s3port BIGINT NOT NULL DEFAULT 0,
    s3tls BIGINT NOT NULL DEFAULT 0,
    s3accesskey TEXT NOT NULL DEFAULT '',
    s3region TEXT NOT NULL DEFAULT '',
    s3encryptionalg TEXT NOT NULL DEFAULT '',
    s3object TEXT NOT NULL DEFAULT '',
    s3bucket TEXT NOT NULL DEFAULT ''
);
-- (colony, label, name) and (colony, label) of the original, with the revision order; fileid is unique on its own.
CREATE INDEX IF NOT EXISTS files_name ON files (colonyname, label, name, seqnr);
CREATE INDEX IF NOT EXISTS files_added ON files (added);

-- snapshots: the newest revision of every file under a label (and its sub-labels), frozen under a name.
CREATE TABLE IF NOT EXISTS snapshots (
    snapshotid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    label TEXT NOT NULL,
    name TEXT NOT NULL,
    fileids TEXT NOT NULL DEFAULT '[]',
    added BIGINT NOT NULL,
    UNIQUE (colonyname, name)
);
CREATE INDEX IF NOT EXISTS snapshots_added ON snapshots (colonyname, added);

-- colonypauses: colonies whose assignments are paused (pauseassignmentsmsg); every replica reads the same row.
CREATE TABLE IF NOT EXISTS colonypauses (
    colonyname TEXT PRIMARY KEY,
    paused BIGINT NOT NULL
);

-- wiregenerations: which generation of the Go wire (v1.7.8 or v1.9) a signer's client last showed it speaks in a
-- colony, so executor replies carry capabilities in the shape that client parses (docs/compatibility.md).
CREATE TABLE IF NOT EXISTS wiregenerations (
    colonyname TEXT NOT NULL,
    identity TEXT NOT NULL,
    generation TEXT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (colonyname, identity)
);

-- replicas: the server processes on this database, each refreshing its row (getclustermsg lists the live ones).
CREATE TABLE IF NOT EXISTS replicas (
    replicaid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    host TEXT NOT NULL,
    apiport BIGINT NOT NULL,
    started BIGINT NOT NULL,
    heartbeat BIGINT NOT NULL,
    leader BIGINT NOT NULL DEFAULT 0
);
-- blueprint definitions: the kinds of blueprint a colony knows (kind = spec.names.kind, one definition per kind)
-- and the executor type that reconciles them; data is the definition as rendered.
CREATE TABLE IF NOT EXISTS blueprintdefinitions (
    blueprintdefinitionid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (colonyname, name),
    UNIQUE (colonyname, kind)
);

-- blueprints: desired state (spec, set by users) and observed state (status, set by reconcilers) of one object.
-- Maps are JSON text; spec is canonical (sorted keys), so a spec change is a text comparison.
CREATE TABLE IF NOT EXISTS blueprints (
    blueprintid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    locationname TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '{}',
    annotations TEXT NOT NULL DEFAULT '{}',
    handler TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT '{}',
    generation BIGINT NOT NULL DEFAULT 1,
    createdat BIGINT NOT NULL DEFAULT 0,
    updatedat BIGINT NOT NULL DEFAULT 0,
    lastreconciliationprocess TEXT NOT NULL DEFAULT '',
    lastreconciliationtime BIGINT NOT NULL DEFAULT 0,
    UNIQUE (colonyname, name)
);
CREATE INDEX IF NOT EXISTS blueprints_kind ON blueprints (colonyname, kind, locationname);

-- Every spec change of a blueprint (create, update, forced generation), newest first by changed.
CREATE TABLE IF NOT EXISTS blueprinthistory (
    historyid TEXT PRIMARY KEY,
    blueprintid TEXT NOT NULL,
    colonyname TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    generation BIGINT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '{}',
    changed BIGINT NOT NULL,
    changedby TEXT NOT NULL DEFAULT '',
    changetype TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS blueprinthistory_blueprint ON blueprinthistory (blueprintid, changed);
-- channels (v1.9): append-only message logs of a process, between its submitter and its assigned executor. A row
-- per channel in use (made by its first append) counts its entries; entries are numbered 1, 2, ... per channel
-- (pos; a reader's afterseq skips that many). channel_rates holds each process's token bucket (appends per second,
-- shared by every replica); it also lists the processes whose channels must go when the process is removed.
CREATE TABLE IF NOT EXISTS channels (
    processid TEXT NOT NULL,
    name TEXT NOT NULL,
    entries BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (processid, name)
);
CREATE TABLE IF NOT EXISTS channel_entries (
    processid TEXT NOT NULL,
    name TEXT NOT NULL,
    pos BIGINT NOT NULL,
    sequence BIGINT NOT NULL,
    inreplyto BIGINT NOT NULL DEFAULT 0,
    timestamp BIGINT NOT NULL,
    senderid TEXT NOT NULL,
    type TEXT NOT NULL,
    size BIGINT NOT NULL,
    payload BYTEA NOT NULL,
    PRIMARY KEY (processid, name, pos)
);
CREATE TABLE IF NOT EXISTS channel_rates (
    processid TEXT PRIMARY KEY,
    colonyname TEXT NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    refilled BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS channel_rates_colony ON channel_rates (colonyname);
