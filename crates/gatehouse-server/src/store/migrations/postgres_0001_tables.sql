-- PostgreSQL schema version 1: the tables of the SQLite store's
-- schema.sql with PostgreSQL types. Bodies stay TEXT, not JSONB: the
-- stored text is exactly what the gate wrote (JSONB would reorder keys and
-- drop duplicates), so both stores return byte-identical rows; the search
-- casts to jsonb when it filters. Ids and other compared text use
-- COLLATE "C" so they sort byte by byte, as SQLite's BINARY does (ids sort
-- by creation time only in byte order).
CREATE TABLE requests (
    id TEXT COLLATE "C" PRIMARY KEY,
    state TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    created_unix BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    deadline TEXT,
    deadline_unix BIGINT,
    requester TEXT COLLATE "C" NOT NULL,
    agent TEXT COLLATE "C" NOT NULL,
    outcome TEXT COLLATE "C" NOT NULL,
    tier BIGINT,
    -- ',role_a,role_b,' so that a role filter is one LIKE (as in SQLite)
    roles TEXT COLLATE "C" NOT NULL,
    action_digest TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    -- the whole row as JSON text (input, decision, approvals, ...)
    body TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX requests_state ON requests (state, id);
CREATE INDEX requests_due ON requests (deadline_unix) WHERE state = 'pending';

CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    request_id TEXT COLLATE "C" NOT NULL,
    line TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_request ON audit (request_id);

CREATE TABLE idempotency (
    principal TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    hash TEXT COLLATE "C" NOT NULL UNIQUE,
    identity TEXT NOT NULL,
    scopes TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE policies (
    digest TEXT COLLATE "C" PRIMARY KEY,
    sources TEXT NOT NULL
);

-- The webhook outbox (done: 0 waiting, 2 given up; delivered rows are
-- deleted).
CREATE TABLE deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    receiver TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_ms BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_ms) WHERE done = 0;

CREATE TABLE console_sessions (
    hash TEXT COLLATE "C" PRIMARY KEY,
    identity TEXT NOT NULL,
    method TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_unix BIGINT NOT NULL,
    expires_unix BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_unix);
