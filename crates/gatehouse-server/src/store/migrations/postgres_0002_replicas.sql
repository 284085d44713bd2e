-- PostgreSQL schema version 2: what many replicas sharing the database
-- need on top of version 1.
--
-- audit_head: the chain's head (last seq and the hash of its line), one
-- row. Every transaction that appends records locks it FOR UPDATE last,
-- so the chain is one sequence whichever replica writes. It starts from
-- the last record already stored (a version-1 database keeps its chain);
-- '{GENESIS}' is replaced by the genesis hash when no record exists yet.
CREATE TABLE audit_head (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
SELECT 1, seq, hash FROM audit ORDER BY seq DESC LIMIT 1;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')
ON CONFLICT (id) DO NOTHING;

-- The gate's signing seed (Ed25519), shared by every replica: the first
-- to start stores its own, the others read it. Whoever can read this table
-- (or a dump of the database) holds the gate's signing key.
CREATE TABLE gate_signing (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    seed BYTEA NOT NULL CHECK (length(seed) = 32)
);

-- When a replica last leased a webhook delivery (for operators; the
-- lease itself is next_ms moved ahead, see store/postgres.rs).
ALTER TABLE deliveries ADD COLUMN leased_at_ms BIGINT;
