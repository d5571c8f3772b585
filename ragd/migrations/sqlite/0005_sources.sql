-- SHA-256 of what the client sent (the file's bytes, or the text), so bulk
-- ingest can skip unchanged files; NULL for documents ingested before.
ALTER TABLE documents ADD COLUMN sha256 TEXT;
-- Page of a paged source (PDF) where the chunk starts, for citations.
ALTER TABLE chunks ADD COLUMN page INTEGER;
