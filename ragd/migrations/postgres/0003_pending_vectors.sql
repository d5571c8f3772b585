-- Versions of documents whose vectors may exist in the vector store without
-- being the version the metadata references: written before an ingest's
-- vectors, swapped in the same transaction as the document row, removed
-- once the vectors of a replaced or deleted version are gone. What a crash
-- or a failed write leaves here, the orphan sweep removes. A version the
-- sweep has claimed can no longer be swapped in (its ingest fails instead of
-- referencing removed vectors). Swept by service::sweep,
-- once older than [storage] orphan_grace_secs.
CREATE TABLE pending_vectors (
    collection  UUID NOT NULL REFERENCES collections(key) ON DELETE CASCADE,
    doc_id      TEXT NOT NULL,
    version     UUID NOT NULL,
    since       TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed     BOOLEAN NOT NULL DEFAULT false, -- the sweep is removing its vectors
    PRIMARY KEY (collection, doc_id, version)
);
