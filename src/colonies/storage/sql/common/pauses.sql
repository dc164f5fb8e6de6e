-- pauses: colonies whose assignments are paused (pauseassignmentsmsg / resumeassignmentsmsg). The row is the flag,
-- so every replica on the database sees a pause at its next claim.

-- name: pause_colony
INSERT INTO colonypauses (colonyname, paused) VALUES (:colonyname, :now) ON CONFLICT (colonyname) DO NOTHING;

-- name: resume_colony
DELETE FROM colonypauses WHERE colonyname = :colonyname;

-- name: is_colony_paused
SELECT paused FROM colonypauses WHERE colonyname = :colonyname;
