-- The gate's tables (SQLite). One schema version; later versions add
-- migrations after it.
CREATE TABLE IF NOT EXISTS gate_schema (version INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_unix INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    deadline TEXT,
    deadline_unix INTEGER,
    requester TEXT NOT NULL,
    agent TEXT NOT NULL,
    outcome TEXT NOT NULL,
    tier INTEGER,
    -- ',role_a,role_b,' so that a role filter is one LIKE
    roles TEXT NOT NULL,
    action_digest TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    -- the whole row as JSON (input, decision, approvals, ...)
    body TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state, id);
CREATE INDEX IF NOT EXISTS requests_due ON requests (deadline_unix) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    line TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_request ON audit (request_id);

CREATE TABLE IF NOT EXISTS idempotency (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);

CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    identity TEXT NOT NULL,
    scopes TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS policies (
    digest TEXT PRIMARY KEY,
    sources TEXT NOT NULL
);

-- The webhook outbox: one row per receiver per transition, written in the
-- transition's transaction. done: 0 waiting, 2 given up (a delivered row
-- is deleted).
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    -- the receiver's URL (as configured)
    receiver TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- when the next attempt is due, Unix milliseconds
    next_ms INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    -- why the last attempt failed (status or error; never a secret)
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_ms) WHERE done = 0;

-- Console sign-ins: the cookie's secret only as a SHA-256 hash.
CREATE TABLE IF NOT EXISTS console_sessions (
    hash TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    method TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_unix INTEGER NOT NULL,
    expires_unix INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_expiry ON console_sessions (expires_unix);
