//! Promises docs/console.md and the console's code make, checked.

use std::path::Path;

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Every ```toml block of docs/console.md is a configuration the service
/// takes (unknown keys and bad values are refused by `from_toml`), or a
/// trust store's approvers and provider.
#[test]
fn the_console_guide_configuration_is_taken_as_written() {
    let guide = std::fs::read_to_string(repo("docs/console.md")).expect("docs/console.md");
    let mut blocks = 0;
    let mut rest = guide.as_str();
    while let Some(at) = rest.find("```toml\n") {
        let body = &rest[at + 8..];
        let end = body.find("```").expect("closed block");
        let text = &body[..end];
        if text.starts_with("# approvers.toml") {
            // The trust store's part: the engine's loader reads it (the
            // JWKS file it names is the provider's, not in the repository).
            let value: toml::Value = toml::from_str(text)
                .unwrap_or_else(|e| panic!("docs/console.md block is not TOML: {e}\n{text}"));
            assert!(
                value.get("approver").is_some() && value.get("oidc").is_some(),
                "{text}"
            );
        } else {
            gatehouse_server::ServerConfig::from_toml(text)
                .unwrap_or_else(|e| panic!("docs/console.md block refused: {e}\n{text}"));
        }
        blocks += 1;
        rest = &body[end + 3..];
    }
    assert!(blocks >= 1, "docs/console.md shows its configuration");
}

/// layout.rs promises that nothing in the console bypasses maud's
/// escaping: no `PreEscaped` anywhere under console/ (an agent's text
/// could otherwise reach the page as markup).
#[test]
fn nothing_in_the_console_bypasses_escaping() {
    let dir = repo("crates/gatehouse-server/src/console");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("console dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read");
            let code = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .find(|l| l.contains("PreEscaped"));
            assert!(
                code.is_none(),
                "{} uses PreEscaped: {code:?}",
                path.display()
            );
            files += 1;
        }
    }
    assert!(files >= 4, "read the console's sources ({files})");
}
