//! Using gatehouse as a library: load the reference policy once, then decide
//! for actions given as typed Rust values and as JSON.
//!
//! Run: `cargo run --example evaluate`

use gatehouse::{EvalOptions, Outcome, Policy};
use serde::Serialize;

/// An action as a service might model it. Any `Serialize` type works; its
/// JSON shape must match the policy's schema.
#[derive(Serialize)]
struct Proposal {
    action: Action,
    requester: Identity,
    agent: Agent,
    model: Model,
    /// Evidence fields by name; present when non-empty.
    evidence: std::collections::BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct Action {
    #[serde(rename = "type")]
    kind: &'static str,
    target: &'static str,
    scope: &'static str,
    customer_facing: bool,
    reversibility: &'static str,
    data_classes: Vec<&'static str>,
}

#[derive(Serialize)]
struct Identity {
    id: &'static str,
}

#[derive(Serialize)]
struct Agent {
    id: &'static str,
    owner: &'static str,
}

#[derive(Serialize)]
struct Model {
    confidence: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/ai-agent-actions");
    // Compile once; a policy that does not compile comes back as diagnostics.
    let policy = Policy::load(dir).map_err(|d| d.render(false))?;
    println!(
        "loaded {} {} ({})\n",
        policy.name(),
        policy.version(),
        policy.digest()
    );

    // 1. A typed value: an internal, reversible read of the knowledge base.
    let read = Proposal {
        action: Action {
            kind: "read",
            target: "knowledge_base",
            scope: "internal",
            customer_facing: false,
            reversibility: "reversible",
            data_classes: vec!["internal"],
        },
        requester: Identity { id: "u-1042" },
        agent: Agent {
            id: "agent-helpdesk",
            owner: "u-2001",
        },
        model: Model { confidence: 0.93 },
        evidence: [("source_citation", "kb://articles/4711")].into(),
    };
    let decision = policy.evaluate_serialize(&read);
    println!(
        "typed read -> {} ({:?})",
        decision.outcome,
        decision.reason_codes()
    );

    // 2. JSON from a file: the README's sample refund of 2500 EUR.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/actions/refund-large.json"
    ))?;
    let input: serde_json::Value = serde_json::from_str(&text)?;
    let options = EvalOptions::default()
        .with_now(gatehouse::values::Timestamp::parse("2026-11-22T09:00:00Z"));
    let decision = policy.evaluate_with(&input, &options);
    println!("\nrefund of 2500 EUR:\n{}", decision.explain());

    // 3. Fail closed: a malformed action never executes.
    let broken = serde_json::json!({ "action": { "type": "teleport" } });
    let decision = policy.evaluate(&broken);
    assert_eq!(decision.outcome, Outcome::Block);
    println!("malformed action -> {}:", decision.outcome);
    for e in &decision.input_errors {
        println!("  {e}");
    }
    Ok(())
}
