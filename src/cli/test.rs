//! `gatehouse test`: run the policy test suites and report rule coverage.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::walk::Excludes;
use super::{Io, exit};
use crate::testing;

/// Arguments of `gatehouse test`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse test policies/                          # every suite of every policy set\n  gatehouse test policies/ --min-coverage 100       # also fail below full rule coverage\n  gatehouse test policies/refunds/limits.test.yaml --verbose\n  gatehouse test policies/ --format junit > gatehouse-junit.xml\n  gatehouse test policies/ --run 'refund'                # only the cases whose name contains \"refund\"\n\nSuites are *.test.yaml files in a policy set's directory. With --run, coverage is that of the cases run. Exit codes: 0 every case passed (and coverage is met), 1 a case failed or erred, coverage is below --min-coverage, or no policy set was found (nothing tested is no pass), 2 usage error (a path that does not exist, a --run PATTERN that matches no case) or a policy does not compile, 101 the report cannot be written."
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
    /// Run only the cases whose name matches PATTERN: a regular expression
    /// searched anywhere in the name (so plain text matches as a substring;
    /// anchor with `^...$` for an exact name). Fails when nothing matches.
    #[arg(long, value_name = "PATTERN", value_parser = parse_pattern)]
    pub run: Option<regex::Regex>,
}

/// `--run`: a regex of bounded size (the name filter is user input too).
fn parse_pattern(s: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(s)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("`{s}` is not a valid pattern: {e}"))
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
    let missing: Vec<String> = args
        .paths
        .iter()
        .filter(|p| !p.exists())
        .map(|p| format!("`{}` does not exist", p.display()))
        .collect();
    if !missing.is_empty() {
        for m in &missing {
            let _ = writeln!(io.stderr, "error: {m}");
        }
        // A CI step reading the report still finds a valid one, saying why.
        if args.format == TestFormat::Junit {
            let _ = write!(io.stdout, "{}", testing::junit::not_run(&missing));
        }
        return exit::USAGE;
    }
    let excludes = match Excludes::new(&args.exclude) {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::USAGE;
        }
    };
    let report = testing::run_with(&args.paths, args.run.as_ref(), &excludes);
    // Nothing to test is never a pass: an empty directory, a typo'd path
    // that exists, or an --exclude that leaves nothing would otherwise turn
    // a CI gate green without a single case run.
    if report.sets.is_empty() {
        let names: Vec<String> = args
            .paths
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect();
        let reason = format!("no policy sets found under {}", names.join(", "));
        let _ = writeln!(io.stderr, "error: {reason}");
        if args.format == TestFormat::Junit {
            let _ = write!(io.stdout, "{}", testing::junit::not_run(&[reason]));
        } else if args.format == TestFormat::Json {
            let _ = writeln!(io.stdout, "{}", report.to_json());
        }
        return exit::FINDINGS;
    }
    if let Some(pattern) = &args.run {
        let suites = report.sets.iter().flat_map(|s| &s.suites);
        let filtered: usize = suites.clone().map(|s| s.filtered).sum();
        let kept: usize = suites.map(|s| s.cases.len()).sum();
        if kept == 0 && !report.has_policy_errors() {
            let _ = writeln!(
                io.stderr,
                "error: --run `{pattern}` matches no test case ({filtered} left out)"
            );
            return exit::USAGE;
        }
        let _ = writeln!(
            io.stderr,
            "--run `{pattern}`: {kept} case{} run, {filtered} filtered out",
            if kept == 1 { "" } else { "s" }
        );
    }
    let text = match args.format {
        TestFormat::Human => report.render_human_with(args.verbose, args.min_coverage, io.color),
        TestFormat::Json => report.to_json() + "\n",
        TestFormat::Junit => report.to_junit_with(args.min_coverage),
    };
    if let Err(e) = write!(io.stdout, "{text}") {
        return super::output_failed(io, &e);
    }
    if report.has_policy_errors() {
        exit::POLICY
    } else if report.success(args.min_coverage) {
        exit::OK
    } else {
        exit::FINDINGS
    }
}
