-- Document lists are paged by id in byte order (`COLLATE "C"`), as SQLite
-- sorts, so that a cursor means the same on both stores whatever this
-- database's locale; this index serves those pages without a sort.
CREATE INDEX documents_in_byte_order ON documents (collection, id COLLATE "C");
