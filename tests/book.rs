//! README and the book (docs/, an mdBook) are checked as a whole:
//!
//! - every ```gate block passes `gatehouse check --deny warnings` and is in
//!   the canonical layout (`gatehouse fmt --check`). A block that shows a
//!   finding on purpose says which in its fence, ```gate,expect=L0011 (codes
//!   joined with `+`), and the check must report exactly those codes; a
//!   block that does not parse must expect a syntax-level code and is not
//!   formatted. A block that is part of a policy set, not a whole policy,
//!   is marked ```gate,fragment: it is checked for syntax and layout only,
//!   with a `policy` header put in front when it has none (its names may be
//!   declared in another file of the set);
//! - every relative link resolves to a file of the repository, and every
//!   `#anchor` to a heading of the target (GitHub's heading slugs), so the
//!   book and README never point at a section that moved.
//!
//! The real binary does the checking, so the blocks are judged exactly as a
//! reader's `gatehouse check` would judge them, lints included.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// README.md and every markdown file under docs/ (the generated policy
/// documents included: their links must resolve too).
fn markdown_files() -> Vec<PathBuf> {
    let mut out = vec![Path::new(ROOT).join("README.md")];
    let mut dirs = vec![Path::new(ROOT).join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

// ------------------------------------------------------------ gate blocks --

/// A ```gate block: where it is, what its fence says, its text.
#[derive(Debug)]
struct GateBlock {
    at: String,
    expect: BTreeSet<String>,
    fragment: bool,
    text: String,
}

/// Every ```gate block of `markdown`. An unknown fence attribute is an error,
/// so a typo (`expects=`) cannot silently turn a check off.
fn gate_blocks(name: &str, markdown: &str) -> Vec<GateBlock> {
    let mut out = Vec::new();
    let mut current: Option<GateBlock> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let mut parts = info.split(',');
                if parts.next().map(str::trim) != Some("gate") {
                    continue;
                }
                let line = markdown[..range.start].lines().count() + 1;
                let mut block = GateBlock {
                    at: format!("{name}:{line}"),
                    expect: BTreeSet::new(),
                    fragment: false,
                    text: String::new(),
                };
                for part in parts.map(str::trim) {
                    if part == "fragment" {
                        block.fragment = true;
                    } else if let Some(codes) = part.strip_prefix("expect=") {
                        block.expect.extend(codes.split('+').map(str::to_owned));
                    } else {
                        panic!("{}: unknown fence attribute `{part}`", block.at);
                    }
                }
                current = Some(block);
            }
            Event::Text(text) => {
                if let Some(block) = &mut current {
                    block.text.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => out.extend(current.take()),
            _ => {}
        }
    }
    out
}

fn gatehouse(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .output()
        .expect("the gatehouse binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The codes `gatehouse check --deny warnings --format json` reports for one
/// file, and whether the file parses (`fmt --check` exits 0 or 1, not 2).
fn judge(file: &Path) -> (BTreeSet<String>, Option<String>) {
    let path = file.to_str().expect("a UTF-8 temp path");
    let (_, out, err) = gatehouse(&["check", "--deny", "warnings", "--format", "json", path]);
    let json: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("check --format json: {e}\n{err}"));
    let mut codes = BTreeSet::new();
    let sets = json["sets"].as_array().into_iter().flatten();
    for d in sets.flat_map(|s| s["diagnostics"].as_array().into_iter().flatten()) {
        codes.insert(d["code"].as_str().unwrap_or("?").to_owned());
    }
    for d in json["diagnostics"].as_array().into_iter().flatten() {
        codes.insert(d["code"].as_str().unwrap_or("?").to_owned());
    }
    let (code, diff, err) = gatehouse(&["fmt", "--check", path]);
    let layout = match code {
        Some(0) => None,
        Some(1) => Some(diff),
        _ => Some(format!("does not parse:\n{err}")),
    };
    (codes, layout)
}

/// Codes reported before a tree exists: a block showing one of these is not
/// formatted (it does not parse).
const SYNTAX_CODES: [&str; 4] = ["E0002", "E0003", "E0004", "E0005"];

/// Everything wrong with one block, or nothing.
fn problems(block: &GateBlock, dir: &Path, index: usize) -> Vec<String> {
    let file = dir.join(format!("block{index}.gate"));
    let mut problems = Vec::new();
    if block.fragment {
        let text = if block.text.trim_start().starts_with("policy ") {
            block.text.clone()
        } else {
            format!("policy \"fragment\" version \"1\"\n{}", block.text)
        };
        std::fs::write(&file, &text).expect("write a temp file");
        let (_, layout) = judge(&file);
        if let Some(layout) = layout {
            problems.push(format!(
                "the fragment is not in canonical layout:\n{layout}"
            ));
        }
        return problems;
    }
    std::fs::write(&file, &block.text).expect("write a temp file");
    let (codes, layout) = judge(&file);
    if codes != block.expect {
        problems.push(format!(
            "`gatehouse check --deny warnings` reports {codes:?}, the fence expects {:?}",
            block.expect
        ));
    }
    let unparsable = block
        .expect
        .iter()
        .any(|c| SYNTAX_CODES.contains(&c.as_str()));
    if let Some(layout) = layout.filter(|_| !unparsable) {
        problems.push(format!(
            "not in canonical layout (`gatehouse fmt`):\n{layout}"
        ));
    }
    problems
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-book-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

#[test]
fn every_gate_block_checks_clean_or_shows_its_finding_and_is_canonical() {
    let dir = scratch("blocks");
    let mut count = 0;
    let mut failures = Vec::new();
    for path in markdown_files() {
        for block in gate_blocks(&relative(&path), &read(&path)) {
            count += 1;
            for p in problems(&block, &dir, count) {
                failures.push(format!("{}: {p}", block.at));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        count > 50,
        "README and the book hold the language's examples"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The checker itself: a clean block passes, and each kind of mistake is
/// caught (an unexpected lint, an expected one that is not there, a layout
/// that is not canonical, a fragment that does not parse).
#[test]
fn the_gate_block_check_catches_each_kind_of_mistake() {
    let dir = scratch("mistakes");
    let clean =
        "policy \"p\" version \"1\"\nschema { a: bool }\nrule r when a then block\ndefault queue\n";
    let dangerous = "policy \"p\" version \"1\"\nschema { action.amount: number }\ndefault auto\n";
    let messy = "policy \"p\" version \"1\"\nschema { a: bool }\nrule r when a then block\ndefault    queue\n";
    let cases = [
        ("```gate\n", clean, 0),
        ("```gate,expect=L0011\n", dangerous, 0),
        ("```gate\n", dangerous, 1),
        ("```gate,expect=L0011\n", clean, 1),
        ("```gate\n", messy, 1),
        ("```gate,fragment\n", "role a \"A\"\n", 0),
        ("```gate,fragment\n", "role a \"A\" oops\n", 1),
        ("```gate,expect=E0002\n", "policy \"p\" version\n", 0),
    ];
    for (i, (fence, text, want)) in cases.into_iter().enumerate() {
        let markdown = format!("# t\n\n{fence}{text}```\n");
        let blocks = gate_blocks("t.md", &markdown);
        assert_eq!(blocks.len(), 1, "{markdown}");
        let found = problems(&blocks[0], &dir, i);
        assert_eq!(found.len(), want, "{markdown}\n{found:#?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[should_panic(expected = "unknown fence attribute `expects=L0011`")]
fn a_misspelt_fence_attribute_is_an_error() {
    gate_blocks("t.md", "```gate,expects=L0011\ndefault queue\n```\n");
}

// ------------------------------------------------------------------ links --

/// GitHub's slug of a heading: lowercase, characters other than letters,
/// digits, `-`, `_` and spaces dropped, spaces made `-`; a repeated slug
/// gets `-1`, `-2`, ... (mdBook makes the same ids).
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a markdown document: the slugs of its headings.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = &mut heading {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let mut candidate = base.clone();
                let mut n = 0;
                while out.contains(&candidate) {
                    n += 1;
                    candidate = format!("{base}-{n}");
                }
                out.insert(candidate);
            }
            _ => {}
        }
    }
    out
}

/// Every link of `markdown` (file) that does not resolve, with the reason.
fn broken_links(file: &Path, markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    for event in Parser::new(markdown) {
        let Event::Start(Tag::Link { dest_url, .. }) = event else {
            continue;
        };
        let url = dest_url.to_string();
        if url.contains("://") || url.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = url
            .split_once('#')
            .map_or((url.as_str(), None), |(p, a)| (p, Some(a)));
        if path.is_empty() {
            // an anchor of this very document
            if let Some(anchor) = anchor.filter(|a| !anchors(markdown).contains(*a)) {
                out.push(format!("`{url}`: no heading with the anchor `#{anchor}`"));
            }
            continue;
        }
        let target = file.parent().unwrap_or(Path::new(ROOT)).join(path);
        if !target.exists() {
            out.push(format!("`{url}`: no file {}", target.display()));
            continue;
        }
        if let Some(anchor) = anchor {
            let is_markdown = target.extension().is_some_and(|e| e == "md");
            if !is_markdown || !anchors(&read(&target)).contains(anchor) {
                out.push(format!("`{url}`: no heading with the anchor `#{anchor}`"));
            }
        }
    }
    out
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut broken = Vec::new();
    let mut links = 0;
    for path in markdown_files() {
        let text = read(&path);
        links += Parser::new(&text)
            .filter(|e| matches!(e, Event::Start(Tag::Link { .. })))
            .count();
        for b in broken_links(&path, &text) {
            broken.push(format!("{}: {b}", relative(&path)));
        }
    }
    assert!(links > 50, "README and the book link to each other");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn a_broken_link_or_anchor_is_found() {
    let file = Path::new(ROOT).join("docs/example.md");
    let markdown = "# Top\n\n## A `code` heading: yes\n\n## Top\n\n\
        [ok](#top) [ok](#a-code-heading-yes) [ok](#top-1) [ok](language.md#combining)\n\
        [ok](../policies/ai-agent-actions) [ok](https://example.com/#nothing)\n\
        [bad](#nowhere) [bad](language.md#nowhere) [bad](missing.md) [bad](../src/lib.rs#x)\n";
    let broken = broken_links(&file, markdown);
    assert_eq!(broken.len(), 4, "{broken:#?}");
    assert!(broken[0].contains("`#nowhere`") && broken[1].contains("language.md#nowhere"));
    assert!(broken[2].contains("missing.md") && broken[3].contains("lib.rs#x"));
}

#[test]
fn headings_slug_as_github_does() {
    let a = anchors(
        "# The book\n## Replay: `gatehouse replay LOG --policy P`\n## E0001 unreadable-file\n## The book\n",
    );
    let want = [
        "the-book",
        "replay-gatehouse-replay-log---policy-p",
        "e0001-unreadable-file",
        "the-book-1",
    ];
    assert_eq!(a, want.iter().map(|s| s.to_string()).collect());
}
