-- One appending transaction's serialized part, statement for statement as
-- store/postgres.rs `append` sends it after the row work: lock the head,
-- insert the records (:records of them, :bytes each, as measured), move
-- the head, announce the change (pg_notify, when :notify is 1), commit.
-- The chain is 1 for the one chain as built (-D partitioned=0), or the
-- client's own (-D partitioned=1; at most 63 clients).
\set chain 1 + :client_id * :partitioned
BEGIN;
SELECT seq, hash FROM bench_head WHERE chain = :chain FOR UPDATE;
INSERT INTO bench_audit (chain, seq, request_id, line, hash)
  SELECT :chain, h.seq + g, 'req_' || md5(random()::text), repeat('x', :bytes), repeat('f', 71)
  FROM bench_head h, generate_series(1, :records) g WHERE h.chain = :chain;
UPDATE bench_head SET seq = seq + :records, hash = md5(random()::text) WHERE chain = :chain;
SELECT CASE WHEN :notify = 1 THEN pg_notify('gh_bench_head', 'req') END;
COMMIT;
