-- API keys (docs/CONFIGURATION.md, [auth]). Only the SHA-256 of a secret is
-- stored; `id` is the public part of the key, by which it is looked up.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    hash        TEXT NOT NULL,             -- hex SHA-256 of the whole key
    scope       TEXT NOT NULL,             -- query | ingest | admin
    collections TEXT NOT NULL,             -- JSON array; empty = all
    created_at  TEXT NOT NULL,             -- RFC 3339 UTC
    expires_at  TEXT,
    revoked_at  TEXT
);
