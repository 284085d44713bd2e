-- The audit chain's tail as the PostgreSQL store writes it (migration
-- version 2: one `audit_head` row locked FOR UPDATE by every appending
-- transaction), with a chain id so the same script can also run with one
-- head per chain: what partitioning the chain would buy.
CREATE TABLE bench_head (
    chain INT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE bench_audit (
    chain INT NOT NULL,
    seq BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    line TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX bench_audit_request ON bench_audit (request_id);
INSERT INTO bench_head SELECT g, 0, repeat('0', 71) FROM generate_series(1, 64) g;
