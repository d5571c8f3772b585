-- PostgreSQL metadata store: collections, documents and chunk texts (the
-- same model as migrations/sqlite), plus the log of vector changes that
-- replicas with embedded vector indexes follow.
--
-- Keys and versions are uuids (16 bytes, bound from Rust as text and cast);
-- metadata is jsonb; timestamps are timestamptz, read back as RFC 3339 UTC.

CREATE TABLE collections (
    key         UUID PRIMARY KEY,          -- also the vector store's name
    name        TEXT NOT NULL UNIQUE,
    embedder    TEXT NOT NULL,
    model       TEXT NOT NULL,
    dimensions  INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE documents (
    collection  UUID NOT NULL REFERENCES collections(key) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    version     UUID NOT NULL,             -- the ingest that wrote it
    text        TEXT NOT NULL,
    metadata    JSONB NOT NULL,            -- a JSON object
    format      TEXT NOT NULL,
    chunks      BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (collection, id)
);

CREATE TABLE chunks (
    point_id    UUID PRIMARY KEY,          -- the vector's id
    collection  UUID NOT NULL,
    doc_id      TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    heading     TEXT NOT NULL DEFAULT '',  -- Markdown heading path ("Setup > Linux")
    FOREIGN KEY (collection, doc_id) REFERENCES documents(collection, id) ON DELETE CASCADE
);

CREATE INDEX chunks_by_document ON chunks(collection, doc_id);

-- Every change to the vectors, in commit order (appends serialise on an
-- advisory lock so that seq order is commit order). One row per entry:
--   create: dimensions
--   drop:   (nothing else)
--   delete_version: doc_id, version (the version whose points go)
--   upsert: point_id, doc_id, version, chunk_index, dense, sparse_*, metadata
--   delete: doc_id, version = the version kept (NULL: none kept)
CREATE TABLE vector_log (
    seq             BIGSERIAL PRIMARY KEY,
    collection      TEXT NOT NULL,
    op              TEXT NOT NULL CHECK (op IN ('create', 'drop', 'upsert', 'delete', 'delete_version')),
    point_id        UUID NULL,
    doc_id          TEXT NULL,
    version         UUID NULL,
    dimensions      INTEGER NULL,
    chunk_index     INTEGER NULL,
    dense           BYTEA NULL,            -- f32 little-endian
    sparse_indices  INT4[] NULL,           -- u32 term ids, bit-cast to int4
    sparse_values   FLOAT4[] NULL,
    metadata        JSONB NULL
);

-- Compaction deletes a collection's or a document's earlier rows.
CREATE INDEX vector_log_by_document ON vector_log(collection, doc_id, seq);
