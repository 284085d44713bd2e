"""The database's cost per lifecycle, from costs.jsonl (one line per
PostgreSQL run, written by run.sh): medians per configuration, as a
Markdown table on stdout. Tables nothing was written to are left out."""

import json
import statistics
import sys


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
labels = list(dict.fromkeys(r["label"] for r in rows))
written = sorted(
    {
        t
        for r in rows
        for t, c in r["tables"].items()
        if (c.get("ins") or 0) + (c.get("upd") or 0) + (c.get("del") or 0) > 0
    }
)
print(
    "| store, replicas | transactions committed | WAL bytes | WAL records | stored bytes | "
    + " | ".join(f"`{t}` ins / upd / del" for t in written)
    + " |"
)
print("|---|---:|---:|---:|---:|" + "---|" * len(written))
for label in labels:
    rs = [r for r in rows if r["label"] == label]
    cells = []
    for t in written:
        f = lambda k: med([r["tables"].get(t, {}).get(k) for r in rs])
        cells.append(f"{f('ins'):.2f} / {f('upd'):.2f} / {f('del'):.2f}")
    wal = lambda k: med([(r["wal"] or {}).get(k) for r in rs])
    stored = med(
        [
            sum(c["bytes_total"] for c in r["tables"].values()) / r["lifecycles"]
            for r in rs
            if r["lifecycles"]
        ]
    )
    print(
        f"| {label} | {med([r['commits'] for r in rs]):.2f} | {wal('bytes'):.0f} | "
        f"{wal('records'):.1f} | {stored:.0f} | " + " | ".join(cells) + " |"
    )
print()
print(
    "Per lifecycle (create, approve, claim, complete), medians over the runs. "
    "Transactions: pg_stat_database.xact_commit, which also counts each replica's "
    "LISTEN backend reading the notification queue. WAL: every record of a transaction "
    "that touched this database (pg_walinspect). Stored bytes: all tables and indexes "
    "at the end of the run divided by the lifecycles run."
)
