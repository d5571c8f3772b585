-- Versions of documents whose vectors may exist in the vector store without
-- being the version the metadata references: written before an ingest's
-- vectors, swapped in the same transaction as the document row, removed
-- once the vectors of a replaced or deleted version are gone. What a crash
-- or a failed write leaves here, the orphan sweep removes. A version the
-- sweep has claimed can no longer be swapped in (its ingest fails instead of
-- referencing removed vectors). Swept by service::sweep.
CREATE TABLE pending_vectors (
    collection  TEXT NOT NULL REFERENCES collections(key) ON DELETE CASCADE,
    doc_id      TEXT NOT NULL,
    version     TEXT NOT NULL,             -- uuid of the ingest
    since       INTEGER NOT NULL,          -- unix seconds
    claimed     INTEGER NOT NULL DEFAULT 0, -- 1: the sweep is removing its vectors
    PRIMARY KEY (collection, doc_id, version)
);
