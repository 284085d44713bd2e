//! The sample key file: the secret of the sampling draw ([`super::sample`]),
//! read the same way by every command that takes one (`eval`/`replay
//! --sample-key-file`, `serve --sample-key-file` / `[autonomy]
//! sample_key_file`), so a key the service runs with always replays its
//! chain.
//!
//! The file holds exactly 64 hex digits (32 bytes), upper or lower case,
//! optionally followed by one line end (`\n` or `\r\n`); e.g. from `openssl
//! rand -hex 32`. Anything else is refused with a message that says what is
//! wrong and never quotes the file (a near-miss is still most of a secret).
//! Only a regular file is opened (a FIFO would block until a writer comes,
//! a device may never end), and at most [`MAX_KEY_FILE_BYTES`] are read.

use std::io::Read as _;
use std::path::Path;

/// The most bytes read from a key file: a longer one is refused.
pub const MAX_KEY_FILE_BYTES: u64 = 1024;

/// What every refusal of a malformed key file ends with.
pub const KEY_FILE_HELP: &str =
    "it must hold exactly 64 hex digits (32 bytes) on one line, e.g. from `openssl rand -hex 32`";

/// Reads and checks a sample key file. The error names what is wrong
/// (not a regular file, unreadable, too large, more than one line, not hex,
/// the wrong length) and, for a malformed file, ends with
/// [`KEY_FILE_HELP`]; it never holds the file's content. The caller adds
/// the path where it shows one.
pub fn read_sample_key_file(path: &Path) -> Result<[u8; 32], String> {
    let not_regular = || "the sample key file is not a regular file".to_owned();
    let unreadable = |e: std::io::Error| format!("cannot read the sample key file: {e}");
    // Checked before opening (opening a FIFO blocks) and again on the open
    // handle (the path may have been replaced in between).
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Err(not_regular()),
        Err(e) => return Err(unreadable(e)),
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if !file.metadata().map_err(unreadable)?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    parse_sample_key(&bytes)
}

/// Checks the content of a key file (see the module documentation).
pub fn parse_sample_key(bytes: &[u8]) -> Result<[u8; 32], String> {
    let help = KEY_FILE_HELP;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(format!(
            "the sample key file is larger than {MAX_KEY_FILE_BYTES} bytes: {help}"
        ));
    }
    // One optional line end: `\n` or `\r\n`, nothing else.
    let text = match bytes.strip_suffix(b"\n") {
        Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
        None => bytes,
    };
    if text.contains(&b'\n') {
        return Err(format!(
            "the sample key file has more than one line: {help}"
        ));
    }
    if !text.iter().all(u8::is_ascii_hexdigit) {
        return Err(format!(
            "the sample key file holds characters that are not hex digits: {help}"
        ));
    }
    if text.len() != 64 {
        return Err(format!(
            "the sample key file holds {} hex digits: {help}",
            text.len()
        ));
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(text, &mut key)
        .map_err(|_| format!("the sample key file is not hex: {help}"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn accepts_64_hex_digits_and_one_line_end() {
        let expected: Vec<u8> = (0..32).collect();
        for content in [
            KEY.to_owned(),
            format!("{KEY}\n"),
            format!("{KEY}\r\n"),
            KEY.to_uppercase(),
        ] {
            assert_eq!(
                parse_sample_key(content.as_bytes()).unwrap().to_vec(),
                expected
            );
        }
    }

    #[test]
    fn refuses_anything_else_without_quoting_it() {
        for content in [
            String::new(),
            "\n".to_owned(),
            format!("{KEY}\r"),
            format!("{KEY}0"),
            format!("{KEY}\n\n"),
            format!("{KEY}\n{KEY}\n"),
            format!(" {KEY}"),
            format!("{KEY} "),
            format!("\t{KEY}\n"),
            format!("{}zz", &KEY[..62]),
            format!("0x{}", &KEY[..62]),
            "é".repeat(32),
            "0".repeat(5000),
        ] {
            let e = parse_sample_key(content.as_bytes()).unwrap_err();
            assert!(e.contains("64 hex digits"), "{content:?}: {e}");
            assert!(!e.contains(&KEY[..16]), "{e}");
        }
    }
}
