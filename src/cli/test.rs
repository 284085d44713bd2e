//! `gatehouse test`: run the policy test suites and report rule coverage.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::walk::Excludes;
use super::{Io, exit};
use crate::testing;

/// Arguments of `gatehouse test`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse test policies/                          # every suite of every policy set\n  gatehouse test policies/ --min-coverage 100       # also fail below full rule coverage\n  gatehouse test policies/refunds/limits.test.yaml --verbose\n  gatehouse test policies/ --format junit > gatehouse-junit.xml\n\nSuites are *.test.yaml files in a policy set's directory. Exit codes: 0 every case passed (and coverage is met), 1 a case failed or erred, or coverage is below --min-coverage, 2 a policy does not compile."
)]
pub struct TestArgs {
    /// Policy set directories (searched recursively), or suite files.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
    /// Also list the cases that passed.
    #[arg(long, short)]
    pub verbose: bool,
    /// Fail when a policy set's rule coverage is below this percentage.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub min_coverage: Option<f64>,
    /// Skip files and directories matching GLOB while searching directories
    /// (gitignore syntax, repeatable); `.gitignore` rules, hidden
    /// directories and build caches are skipped too.
    #[arg(long, value_name = "GLOB", value_parser = super::walk::parse_exclude)]
    pub exclude: Vec<String>,
}

/// How `test` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// Failures with their differences, coverage, a closing count.
    Human,
    /// One JSON document.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a percentage between 0 and 100")),
    }
}

pub(super) fn run(args: &TestArgs, io: &mut Io<'_>) -> u8 {
    for p in &args.paths {
        if !p.exists() {
            let _ = writeln!(io.stderr, "error: `{}` does not exist", p.display());
            return exit::POLICY;
        }
    }
    let excludes = match Excludes::new(&args.exclude) {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::POLICY;
        }
    };
    let report = testing::run_excluding(&args.paths, &excludes);
    let text = match args.format {
        TestFormat::Human => report.render_human_with(args.verbose, args.min_coverage, io.color),
        TestFormat::Json => report.to_json() + "\n",
        TestFormat::Junit => report.to_junit(),
    };
    if write!(io.stdout, "{text}").is_err() {
        return exit::POLICY;
    }
    if report.has_policy_errors() {
        exit::POLICY
    } else if report.success(args.min_coverage) {
        exit::OK
    } else {
        exit::FINDINGS
    }
}
