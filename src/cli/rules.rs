//! `gatehouse rules`: every lint and warning (what gatehouse.toml can
//! configure) with its code, name, default level and summary.

use clap::{Args, ValueEnum};

use super::{Io, exit};
use crate::diagnostic::Code;
use crate::lint::registry;

/// Arguments of `gatehouse rules`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse rules\n  gatehouse rules --format json\n\n`gatehouse explain CODE` prints one code's documentation. Levels of lints (L) and warnings (W) can be changed per project in gatehouse.toml (`[lints]` then `threshold-gap = \"error\"`).\n\nExit codes: 0 printed, 2 usage error, 101 stdout cannot be written."
)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
    pub format: RulesFormat,
}

/// How `rules` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// An aligned table.
    Human,
    /// A JSON array of `{code, name, default_level, summary}`.
    Json,
}

/// What gatehouse.toml and suppression comments can adjust: every `W`
/// and `L` code, in table order.
fn lints() -> impl Iterator<Item = Code> {
    Code::ALL
        .iter()
        .copied()
        .filter(|c| crate::lint::config::is_configurable(*c))
}

pub(super) fn run(args: &RulesArgs, io: &mut Io<'_>) -> u8 {
    let text = match args.format {
        RulesFormat::Human => table(),
        RulesFormat::Json => {
            let rows: Vec<serde_json::Value> = lints()
                .map(|c| {
                    serde_json::json!({
                        "code": c.as_str(),
                        "name": c.name(),
                        "default_level": registry::level_word(c.severity()),
                        "summary": c.summary(),
                    })
                })
                .collect();
            match serde_json::to_string_pretty(&rows) {
                Ok(t) => format!("{t}\n"),
                Err(e) => return super::output_failed(io, &e),
            }
        }
    };
    if let Err(e) = write!(io.stdout, "{text}") {
        return super::output_failed(io, &e);
    }
    exit::OK
}

fn table() -> String {
    let width = lints().map(|c| c.name().len()).max().unwrap_or(0);
    let mut out = format!("{:<7}{:<width$}  {:<9}summary\n", "code", "name", "level");
    for c in lints() {
        out.push_str(&format!(
            "{:<7}{:<width$}  {:<9}{}\n",
            c.as_str(),
            c.name(),
            registry::level_word(c.severity()),
            c.summary()
        ));
    }
    out
}
