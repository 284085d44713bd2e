-- SQLite schema version 2: sampled review after the fact (issue 18).
--
-- sample_state: the row body's `sample_review.state` (`open`,
-- `confirmed`, `rejected`), NULL for a request that was not sampled. The
-- store's one write_row sets it from the body it writes, so the two never
-- disagree; `GET /v1/samples` and the console's samples queue filter on it
-- through the partial index (only sampled rows are in it). Rows written
-- before version 2 are read from their bodies once, here.
ALTER TABLE requests ADD COLUMN sample_state TEXT;
UPDATE requests SET sample_state = json_extract(body, '$.sample_review.state')
WHERE json_type(body, '$.sample_review.state') = 'text';
CREATE INDEX requests_sample ON requests (sample_state, id) WHERE sample_state IS NOT NULL;
