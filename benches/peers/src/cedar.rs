//! Cedar (`cedar-policy`): one `permit` per rule, outcome and reasons from
//! the @level / @reason annotations of the determining policies of one
//! `is_authorized` call.

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityUid, PolicyId, PolicySet, Request,
    RestrictedExpression,
};

use crate::native;
use crate::verdict::{Size, Verdict, level_of};

pub const MATRIX: &str = include_str!("../policies/matrix.cedar");

pub fn source(size: Size) -> String {
    let mut text = String::with_capacity(MATRIX.len() + size.extra * 130);
    text.push_str(MATRIX);
    for k in 0..size.extra {
        text.push_str(&format!(
            "@id(\"sys_{k}\") @level(\"explicit\") @reason(\"SYS_{k}\")\n\
             permit (principal, action, resource) when {{ context.action.target == \"sys:{k}\" }};\n"
        ));
    }
    text
}

pub struct Cedar {
    policies: PolicySet,
    /// @level and @reason of every policy, read once when the set loads:
    /// `PolicySet::annotation` parses the key on every call, which would
    /// add microseconds to each decision for no information.
    annotations: HashMap<PolicyId, (u8, String)>,
    entities: Entities,
    authorizer: Authorizer,
    principal: EntityUid,
    action: EntityUid,
    resource: EntityUid,
}

/// One decision: the outcome level and the reason codes (borrowed from the
/// policy set's annotations), plus how many policies errored.
pub struct Answer<'a> {
    pub level: u8,
    pub reasons: Vec<&'a str>,
    pub errors: usize,
}

impl Cedar {
    pub fn compile(size: Size) -> Cedar {
        Cedar::from_text(&source(size))
    }

    /// Parses the policies and reads their annotations.
    pub fn from_text(text: &str) -> Cedar {
        let policies = match PolicySet::from_str(text) {
            Ok(p) => p,
            Err(e) => panic!("the Cedar matrix does not parse: {e:?}"),
        };
        let annotations = policies
            .policies()
            .map(|p| {
                let level = p.annotation("level").and_then(level_of);
                let reason = p.annotation("reason");
                match (level, reason) {
                    (Some(l), Some(r)) => (p.id().clone(), (l, r.to_string())),
                    _ => panic!("policy {} lacks a valid @level or @reason", p.id()),
                }
            })
            .collect();
        Cedar {
            policies,
            annotations,
            entities: Entities::empty(),
            authorizer: Authorizer::new(),
            principal: EntityUid::from_str(r#"Agent::"agent""#).expect("uid"),
            action: EntityUid::from_str(r#"Action::"propose""#).expect("uid"),
            resource: EntityUid::from_str(r#"Target::"target""#).expect("uid"),
        }
    }

    /// Request construction, `is_authorized`, and the outcome and reasons
    /// from the annotations of the determining policies.
    #[inline(never)]
    pub fn decide(&self, context: Context) -> Answer<'_> {
        let request = Request::new(
            self.principal.clone(),
            self.action.clone(),
            self.resource.clone(),
            context,
            None,
        )
        .expect("a request without a schema always builds");
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &self.entities);
        let errors = response.diagnostics().errors().count();
        if response.decision() == Decision::Deny {
            return Answer {
                level: 0,
                reasons: vec!["NO_RULE_MATCHED"],
                errors,
            };
        }
        let mut level = 0;
        let mut reasons = Vec::new();
        for id in response.diagnostics().reason() {
            match self.annotations.get(id) {
                Some((l, r)) => {
                    level = level.max(*l);
                    reasons.push(r.as_str());
                }
                None => level = u8::MAX,
            }
        }
        Answer {
            level,
            reasons,
            errors,
        }
    }

    pub fn decide_json_value(&self, input: serde_json::Value) -> Answer<'_> {
        let context = Context::from_json_value(input, None).expect("a corpus input is a context");
        self.decide(context)
    }

    pub fn decide_json_str(&self, text: &str) -> Answer<'_> {
        let context = Context::from_json_str(text, None).expect("a corpus input is a context");
        self.decide(context)
    }

    pub fn decide_typed(&self, input: &native::Input) -> Answer<'_> {
        self.decide(context_from_pairs(input))
    }
}

fn s(v: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(v.to_string())
}

fn record(fields: Vec<(String, RestrictedExpression)>) -> RestrictedExpression {
    RestrictedExpression::new_record(fields).expect("no duplicate keys")
}

fn kind(k: native::Kind) -> &'static str {
    use native::Kind::*;
    match k {
        Read => "read",
        Summarize => "summarize",
        Draft => "draft",
        Send => "send",
        Update => "update",
        Delete => "delete",
        Refund => "refund",
        Pay => "pay",
        Deploy => "deploy",
    }
}

fn class(c: native::DataClass) -> &'static str {
    use native::DataClass::*;
    match c {
        Public => "public",
        Internal => "internal",
        Pii => "pii",
        Phi => "phi",
        Financial => "financial",
    }
}

/// The context built with `Context::from_pairs` from the typed struct.
pub fn context_from_pairs(input: &native::Input) -> Context {
    let a = &input.action;
    let mut action = vec![
        ("type".to_string(), s(kind(a.kind))),
        (
            "scope".to_string(),
            s(match a.scope {
                native::Scope::Internal => "internal",
                native::Scope::External => "external",
            }),
        ),
        ("target".to_string(), s(&a.target)),
        (
            "data_classes".to_string(),
            RestrictedExpression::new_set(a.data_classes.iter().map(|c| s(class(*c)))),
        ),
    ];
    if let Some(amount) = a.amount {
        action.push(("amount".to_string(), RestrictedExpression::new_long(amount)));
    }
    if let Some(summary) = &a.summary {
        action.push(("summary".to_string(), s(summary)));
    }
    let mut pairs = vec![
        ("action".to_string(), record(action)),
        (
            "model".to_string(),
            record(vec![(
                "confidence".to_string(),
                RestrictedExpression::new_long(input.model.confidence),
            )]),
        ),
        (
            "requester".to_string(),
            record(vec![("id".to_string(), s(&input.requester.id))]),
        ),
        (
            "agent".to_string(),
            record(vec![("owner".to_string(), s(&input.agent.owner))]),
        ),
    ];
    if let Some(w) = &input.change_window {
        let mut fields = Vec::new();
        if let Some(open) = w.open {
            fields.push(("open".to_string(), RestrictedExpression::new_bool(open)));
        }
        pairs.push(("change_window".to_string(), record(fields)));
    }
    if let Some(ev) = &input.evidence {
        let mut fields = Vec::new();
        for (name, v) in [
            ("impact_estimate", &ev.impact_estimate),
            ("rollback_plan", &ev.rollback_plan),
            ("source_citation", &ev.source_citation),
        ] {
            if let Some(v) = v {
                fields.push((name.to_string(), s(v)));
            }
        }
        pairs.push(("evidence".to_string(), record(fields)));
    }
    Context::from_pairs(pairs).expect("no duplicate keys")
}

pub fn verdict(a: &Answer<'_>) -> Verdict {
    Verdict::new(a.level, a.reasons.iter().copied())
}
