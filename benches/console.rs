//! Criterion benchmark of the review console's queue: how long the page's
//! work takes (read the pending requests, judge for each whether the
//! signed-in person may approve it, sort) with 200 and 2 000 pending
//! requests in a real SQLite store, for a reviewer who may approve a third
//! of them. The page itself adds rendering (maud), measured with it.
//!
//! Run: `cargo bench --bench console` (docs/performance.md, "The console").

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gatehouse_server::auth::{AuthMethod, Principal, Scope};
use gatehouse_server::console::queue::{QueueFilter, approvable};
use gatehouse_server::console::session::Reviewer;
use gatehouse_server::{Gate, ServerConfig};

fn shipped() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/ai-agent-actions")
}

fn example(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/actions")
            .join(name),
    )
    .expect("example")
}

/// A gate on a fresh store with `n` pending requests: a third refunds a
/// support lead approves, a third large refunds, a third IAM changes.
fn gate_with(rt: &tokio::runtime::Runtime, dir: &std::path::Path, n: usize) -> Arc<Gate> {
    rt.block_on(async {
        let config = ServerConfig {
            policy: shipped(),
            data_dir: dir.to_path_buf(),
            ..ServerConfig::default()
        };
        let (gate, _) = gatehouse_server::open(config).await.expect("gate");
        let agent = Principal {
            id: "agent".into(),
            roles: vec![],
            scopes: vec![Scope::Request],
            method: AuthMethod::ApiKey,
            key_id: None,
        };
        let kinds = [
            example("refund-small.json"),
            example("refund-large.json"),
            example("iam-change.json"),
        ];
        for i in 0..n {
            let (status, _) = gate
                .create_request(&agent, &kinds[i % 3], None)
                .await
                .expect("created");
            assert_eq!(status, 201);
        }
        gate
    })
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("console");
    group.sample_size(10);
    for n in [200, 2_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let gate = gate_with(&rt, dir.path(), n);
        let reviewer = Reviewer {
            principal: Principal {
                id: "lead".into(),
                roles: vec!["support_lead".into()],
                scopes: vec![Scope::Approve, Scope::Read],
                method: AuthMethod::DevSignIn,
                key_id: None,
            },
            csrf: String::new(),
            session_hash: String::new(),
        };
        let filter = QueueFilter::default();
        let listed = rt
            .block_on(approvable(&gate, &reviewer, &filter))
            .expect("queue");
        assert_eq!(listed.len(), n.div_ceil(3), "a third is the lead's");
        // The store's part alone: reading the pending rows.
        let pending = gatehouse_server::store::ListFilter {
            states: vec![gatehouse_server::lifecycle::State::Pending],
            limit: gatehouse_server::console::queue::QUEUE_SCAN,
            by_deadline: true,
            ..Default::default()
        };
        group.bench_with_input(BenchmarkId::new("read_pending", n), &n, |b, _| {
            b.iter(|| {
                rt.block_on(gate.store.list(black_box(&pending)))
                    .map(|rows| rows.len())
            })
        });
        group.bench_with_input(BenchmarkId::new("queue", n), &n, |b, _| {
            b.iter(|| {
                rt.block_on(approvable(black_box(&gate), &reviewer, &filter))
                    .map(|rows| rows.len())
            })
        });
    }
    group.finish();
}

criterion_group!(console, benches);
criterion_main!(console);
