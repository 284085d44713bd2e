//! `--sample-key-file FILE` (`eval`, `replay`): the secret key of the
//! sampling draw (`sample N% for review`, docs/decisions.md "Sampled
//! review"). The file holds exactly 64 hex digits (32 bytes) on one line,
//! e.g. from `openssl rand -hex 32`; anything else is a usage error that
//! names the file and what is wrong, never its content. At most 1 KiB is
//! read, so a huge or endless file (a FIFO, /dev/zero) is refused quickly.

use std::path::Path;

/// A sampling key read from a file. `Debug` never shows the key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SampleKey(pub [u8; 32]);

impl std::fmt::Debug for SampleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SampleKey(<redacted>)")
    }
}

/// clap's value parser for `--sample-key-file`.
pub fn parse_sample_key_file(path: &str) -> Result<SampleKey, String> {
    read_sample_key(Path::new(path))
}

/// Reads and checks a key file: the engine's one reader
/// ([`gatehouse::eval::sample_key`]), which `serve` uses too. The error
/// says what is wrong (length, characters, lines) without quoting the file.
pub fn read_sample_key(path: &Path) -> Result<SampleKey, String> {
    gatehouse::eval::sample_key::read_sample_key_file(path).map(SampleKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(content: &[u8]) -> Result<SampleKey, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, content).unwrap();
        read_sample_key(&path)
    }

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn accepts_64_hex_digits_on_one_line() {
        let expected: Vec<u8> = (0..32).collect();
        for content in [
            KEY.to_owned(),
            format!("{KEY}\n"),
            format!("{KEY}\r\n"),
            KEY.to_uppercase(),
        ] {
            assert_eq!(with(content.as_bytes()).unwrap().0.to_vec(), expected);
        }
        assert_eq!(
            format!("{:?}", with(KEY.as_bytes()).unwrap()),
            "SampleKey(<redacted>)"
        );
    }

    #[test]
    fn refuses_anything_else_without_quoting_it() {
        let secretish = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75e";
        for content in [
            String::new(),
            "\n".to_owned(),
            secretish.to_owned(),
            format!("{KEY}0"),
            format!("{KEY}\n\n"),
            format!("{KEY}\n{KEY}\n"),
            format!(" {KEY}"),
            format!("{}zz", &KEY[..62]),
            format!("0x{}", &KEY[..62]),
            "é".repeat(32),
            "0".repeat(5000),
        ] {
            let e = with(content.as_bytes()).unwrap_err();
            assert!(e.contains("64 hex digits"), "{e}");
            assert!(!e.contains(&KEY[..16]) && !e.contains("5ec7e7"), "{e}");
        }
        let e = read_sample_key(Path::new("/nonexistent/key")).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }

    /// The doc's promise "a FIFO is refused quickly": opening one blocks
    /// until a writer comes, so it is refused before it is opened.
    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_a_directory_and_a_device_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for path in [fifo.as_path(), dir.path(), Path::new("/dev/zero")] {
            let e = read_sample_key(path).unwrap_err();
            assert!(e.contains("not a regular file"), "{}: {e}", path.display());
        }
    }
}
