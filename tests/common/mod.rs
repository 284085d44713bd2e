//! Helpers shared by the integration tests.

/// The text of every ```gate block of a markdown document, in order,
/// whatever its fence's attributes (```gate,expect=L0011, ```gate,fragment).
pub fn gate_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let fence = line.trim();
        let opens_gate = fence == "```gate" || fence.starts_with("```gate,");
        match &mut current {
            None if opens_gate => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}
