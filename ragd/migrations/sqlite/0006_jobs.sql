-- Asynchronous ingests (?wait=false). A job holds the documents still to
-- write (JSON; emptied once it ends), its progress, and while it runs the
-- replica running it and that replica's last heartbeat: a job whose
-- heartbeat stops (a crash) is claimed again and resumes. service::jobs.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    collection  TEXT NOT NULL,             -- the collection's name
    state       TEXT NOT NULL,             -- queued | running | succeeded | failed
    sources     TEXT NOT NULL,
    documents   INTEGER NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    chunks      INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    owner       TEXT,
    heartbeat   INTEGER NOT NULL DEFAULT 0, -- unix seconds
    created_at  TEXT NOT NULL,             -- RFC 3339
    updated_at  TEXT NOT NULL
);
CREATE INDEX jobs_to_run ON jobs (state, created_at);
