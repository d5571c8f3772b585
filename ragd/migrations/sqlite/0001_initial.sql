-- Collections, documents and chunk texts. Vectors live in the vector store,
-- keyed by chunks.point_id.
CREATE TABLE collections (
    key         TEXT PRIMARY KEY,          -- uuid, also the vector store's name
    name        TEXT NOT NULL UNIQUE,
    embedder    TEXT NOT NULL,
    model       TEXT NOT NULL,
    dimensions  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE documents (
    collection  TEXT NOT NULL REFERENCES collections(key) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    version     TEXT NOT NULL,             -- uuid of the ingest that wrote it
    text        TEXT NOT NULL,
    metadata    TEXT NOT NULL,             -- JSON object
    format      TEXT NOT NULL,
    chunks      INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);

CREATE TABLE chunks (
    point_id    TEXT PRIMARY KEY,          -- uuid of the vector
    collection  TEXT NOT NULL,
    doc_id      TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    FOREIGN KEY (collection, doc_id) REFERENCES documents(collection, id) ON DELETE CASCADE
);

CREATE INDEX chunks_by_document ON chunks(collection, doc_id);
