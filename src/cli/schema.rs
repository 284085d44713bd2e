//! `gatehouse schema`: the JSON Schemas (draft 2020-12) of every JSON
//! document the CLI writes, and the input contract of a policy as a JSON
//! Schema for agent frameworks.
//!
//! The schemas live in `schemas/` at the repository root and are embedded
//! here with `include_str!`, so the binary prints exactly the published
//! files (tests/schemas.rs compares them byte for byte). Each carries
//! `$id` = [`schema_id`] of its kind; each document carries the
//! [`DocumentFormat`] field that names the same kind and major version.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{Io, exit};
use crate::check::{PolicySet, Type};
use crate::eval::DocumentFormat;

/// Where the schemas are published: `{kind}` and `{major}` are filled in by
/// [`schema_id`]. The one place the URL pattern is written.
pub const SCHEMA_ID_PATTERN: &str = "https://gatehouse.dev/schemas/{kind}/v{major}.json";

/// The `$id` of a schema: [`SCHEMA_ID_PATTERN`] for `kind` and `major`.
pub fn schema_id(kind: &str, major: u32) -> String {
    SCHEMA_ID_PATTERN
        .replace("{kind}", kind)
        .replace("{major}", &major.to_string())
}

/// The major version of a document format (`gatehouse.decision/1` -> 1).
pub fn format_major(format: &DocumentFormat) -> Option<u32> {
    format.value.rsplit('/').next()?.parse().ok()
}

/// Every published schema: its name (the [`DocumentFormat::kind`]) and its
/// text, as in `schemas/<name>.schema.json`, in [`DocumentFormat::ALL`]
/// order.
pub const SCHEMAS: [(&str, &str); 8] = [
    (
        "decision",
        include_str!("../../schemas/decision.schema.json"),
    ),
    (
        "verification",
        include_str!("../../schemas/verification.schema.json"),
    ),
    (
        "audit-record",
        include_str!("../../schemas/audit-record.schema.json"),
    ),
    (
        "audit-verify",
        include_str!("../../schemas/audit-verify.schema.json"),
    ),
    ("check", include_str!("../../schemas/check.schema.json")),
    ("test", include_str!("../../schemas/test.schema.json")),
    ("diff", include_str!("../../schemas/diff.schema.json")),
    ("replay", include_str!("../../schemas/replay.schema.json")),
];

/// The published schema named `name`, if there is one.
pub fn published(name: &str) -> Option<&'static str> {
    SCHEMAS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Arguments of `gatehouse schema`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse schema --list\n  gatehouse schema decision > decision.schema.json\n  gatehouse schema input --policy policies/ai-agent-actions > tool-arguments.json\n  gatehouse schema input --policy policies/ai-agent-actions --strict\n\nEvery JSON document gatehouse writes starts with `\"format\": \"gatehouse.<name>/<major>\"`; `gatehouse schema <name>` prints its JSON Schema (draft 2020-12). `input` is not a document gatehouse writes: it is the policy's `schema { }` block (and its `evidence { }` fields) as a JSON Schema of the action, for agent frameworks that describe tool arguments in JSON Schema.\n\nExit codes: 0 printed, 2 unknown name, usage error or the policy does not compile."
)]
pub struct SchemaArgs {
    /// The schema to print: a document kind (see --list), or `input` with
    /// --policy.
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// List the names of the published schemas, one per line.
    #[arg(long, conflicts_with = "name")]
    pub list: bool,
    /// With `input`: the policy set (a `.gate` file or a directory). No
    /// `GATEHOUSE_POLICY` default: it would turn `schema decision` into a
    /// usage error wherever the variable is set.
    #[arg(long, short)]
    pub policy: Option<PathBuf>,
    /// With `input`: refuse properties the policy does not declare
    /// (`additionalProperties: false`), as `eval --strict` does.
    #[arg(long)]
    pub strict: bool,
}

pub(super) fn run(args: &SchemaArgs, io: &mut Io<'_>) -> u8 {
    if args.list {
        let mut text = String::new();
        for (name, _) in SCHEMAS {
            text.push_str(name);
            text.push('\n');
        }
        text.push_str("input\n");
        return print(io, &text);
    }
    let name = args.name.as_deref().unwrap_or_default();
    if name == "input" {
        let Some(path) = &args.policy else {
            let _ = writeln!(
                io.stderr,
                "error: `gatehouse schema input` needs the policy: --policy DIR"
            );
            return exit::POLICY;
        };
        let policy = match super::load_policy(path, io) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let schema = input_schema(policy.checked(), args.strict);
        return match serde_json::to_string_pretty(&schema) {
            Ok(text) => print(io, &(text + "\n")),
            Err(_) => exit::POLICY,
        };
    }
    if args.policy.is_some() || args.strict {
        let _ = writeln!(
            io.stderr,
            "error: --policy and --strict apply to `gatehouse schema input` only"
        );
        return exit::POLICY;
    }
    match published(name) {
        Some(text) => print(io, text),
        None => {
            let _ = writeln!(io.stderr, "error: no schema named `{name}`");
            let _ = writeln!(io.stderr, "help: `gatehouse schema --list` lists the names");
            exit::POLICY
        }
    }
}

fn print(io: &mut Io<'_>, text: &str) -> u8 {
    match write!(io.stdout, "{text}") {
        Ok(()) => exit::OK,
        Err(_) => exit::POLICY,
    }
}

/// One node of an exported input schema. Optional keywords are left out
/// when unset, so a node is the smallest schema that says what it means;
/// `properties` is a `BTreeMap`, so the output is the same whatever the
/// JSON map order of the build.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct InputNode {
    /// `$schema`, on the root only.
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    schema: Option<&'static str>,
    /// On the root only: the policy's name and version.
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    /// How the attribute is declared, e.g. `action.amount: number?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// The JSON type(s); `null` is one of them for an optional attribute.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    ty: Option<TypeWords>,
    /// Enum values (and `null` when optional).
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    values: Option<Vec<Option<String>>>,
    /// For strings of a set syntax (durations, timestamps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<&'static str>,
    /// Durations: the text must not be empty.
    #[serde(rename = "minLength", skip_serializing_if = "Option::is_none")]
    min_length: Option<u32>,
    /// Timestamps: `date-time`, an annotation for tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    /// Numbers: the engine's range (magnitude at most 1e20).
    #[serde(skip_serializing_if = "Option::is_none")]
    minimum: Option<f64>,
    /// Numbers: the engine's range.
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum: Option<f64>,
    /// Durations: a text or a number of seconds.
    #[serde(rename = "anyOf", skip_serializing_if = "Option::is_none")]
    any_of: Option<Vec<InputNode>>,
    /// Sets: the schema of each item.
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Box<InputNode>>,
    /// Objects: their keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<BTreeMap<String, InputNode>>,
    /// Objects: the keys that must be present (and not null).
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<Vec<String>>,
    /// Objects: `false` under --strict.
    #[serde(
        rename = "additionalProperties",
        skip_serializing_if = "Option::is_none"
    )]
    additional: Option<bool>,
}

/// A `type` keyword: one word, or a word and `null`.
#[derive(Debug, PartialEq, Serialize)]
#[serde(untagged)]
enum TypeWords {
    One(&'static str),
    Nullable([&'static str; 2]),
}

fn typed(word: &'static str, optional: bool) -> InputNode {
    InputNode {
        ty: Some(if optional {
            TypeWords::Nullable([word, "null"])
        } else {
            TypeWords::One(word)
        }),
        ..InputNode::default()
    }
}

/// `1d2h30m15s`: each unit at most once, largest first (values::parse_duration).
const DURATION_PATTERN: &str = "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$";
/// RFC 3339 with a zone, as the input reader takes it (`T`/`t`/space, `Z`/`z`).
const TIMESTAMP_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
/// The largest magnitude of a number the engine accepts.
const MAX_MAGNITUDE: f64 = 1e20;

/// The schema of one attribute's value.
fn value_node(ty: &Type, optional: bool) -> InputNode {
    match ty {
        Type::Bool => typed("boolean", optional),
        Type::Number => InputNode {
            minimum: Some(-MAX_MAGNITUDE),
            maximum: Some(MAX_MAGNITUDE),
            ..typed("number", optional)
        },
        Type::String => typed("string", optional),
        Type::Timestamp => InputNode {
            pattern: Some(TIMESTAMP_PATTERN),
            format: Some("date-time"),
            ..typed("string", optional)
        },
        Type::Duration => {
            let mut any_of = vec![
                InputNode {
                    pattern: Some(DURATION_PATTERN),
                    min_length: Some(2),
                    ..typed("string", false)
                },
                InputNode {
                    minimum: Some(0.0),
                    ..typed("integer", false)
                },
            ];
            if optional {
                any_of.push(typed("null", false));
            }
            InputNode {
                any_of: Some(any_of),
                ..InputNode::default()
            }
        }
        Type::Enum(values) => {
            let mut all: Vec<Option<String>> = values.iter().cloned().map(Some).collect();
            if optional {
                all.push(None);
            }
            InputNode {
                values: Some(all),
                ..typed("string", optional)
            }
        }
        Type::Set(item) => InputNode {
            items: Some(Box::new(value_node(item, false))),
            ..typed("array", optional)
        },
    }
}

/// A tree of objects built from dotted paths, before it becomes nodes.
#[derive(Default)]
struct Tree {
    leaves: BTreeMap<String, InputNode>,
    children: BTreeMap<String, Tree>,
    /// Names (leaves and children) that must be present.
    required: Vec<String>,
}

impl Tree {
    fn insert(&mut self, segments: &[String], leaf: InputNode, optional: bool) {
        match segments {
            [] => {}
            [name] => {
                if !optional {
                    self.required.push(name.clone());
                }
                self.leaves.insert(name.clone(), leaf);
            }
            [name, rest @ ..] => {
                self.children
                    .entry(name.clone())
                    .or_default()
                    .insert(rest, leaf, optional);
            }
        }
    }

    /// An object node; `optional` when nothing under it is required (then
    /// it may be absent or null, as the engine reads an absent parent).
    fn into_node(mut self, strict: bool) -> (InputNode, bool) {
        let mut properties = self.leaves;
        for (name, child) in self.children {
            let (node, optional) = child.into_node(strict);
            if !optional {
                self.required.push(name.clone());
            }
            properties.insert(name, node);
        }
        self.required.sort();
        self.required.dedup();
        let optional = self.required.is_empty();
        let node = InputNode {
            properties: Some(properties),
            required: (!self.required.is_empty()).then_some(self.required),
            additional: strict.then_some(false),
            ..typed("object", optional)
        };
        (node, optional)
    }
}

/// The policy's input contract as a JSON Schema (draft 2020-12): a plain
/// object schema, one nested object per path segment, each attribute's
/// type as the engine reads it, required attributes in `required`, optional
/// ones also allowing `null`; the declared evidence fields under
/// `evidence` (any value: absent, null or empty is missing evidence, not an
/// invalid input). With `strict`, undeclared properties are refused, as
/// `eval --strict` refuses them.
///
/// What JSON Schema cannot say, and the engine checks: numbers keep every
/// digit (the schema's bounds are floating point), durations are bounded
/// by 64-bit seconds and a whole number of seconds must not be written with
/// a fraction (`5400.0`), and timestamps must be real instants within the
/// years 0000-9999.
pub fn input_schema(set: &PolicySet, strict: bool) -> InputNode {
    let mut tree = Tree::default();
    for a in &set.attributes {
        let mut leaf = value_node(&a.ty, a.optional);
        leaf.description = Some(format!(
            "{}: {}{}",
            a.path,
            a.ty.describe(),
            if a.optional { "?" } else { "" }
        ));
        tree.insert(&a.segments, leaf, a.optional);
    }
    {
        let fields = set
            .evidence
            .iter()
            .map(|e| {
                let node = InputNode {
                    description: Some(format!("evidence field `{}`", e.name)),
                    ..InputNode::default()
                };
                (e.name.clone(), node)
            })
            .collect();
        let evidence = InputNode {
            description: Some(
                "the evidence pack: a field absent, null or empty is missing evidence".into(),
            ),
            properties: Some(fields),
            additional: strict.then_some(false),
            ..typed("object", true)
        };
        tree.leaves.insert("evidence".into(), evidence);
    }
    let (mut root, _) = tree.into_node(strict);
    // the top level is an object, never null
    root.ty = Some(TypeWords::One("object"));
    root.schema = Some("https://json-schema.org/draft/2020-12/schema");
    root.title = Some(format!(
        "input of policy \"{}\" version \"{}\"",
        set.name, set.version
    ));
    root
}
