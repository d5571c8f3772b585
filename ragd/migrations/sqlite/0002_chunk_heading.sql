-- Markdown heading path of each chunk ("Setup > Linux"), shown in citations.
ALTER TABLE chunks ADD COLUMN heading TEXT NOT NULL DEFAULT '';
