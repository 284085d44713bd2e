//! `gatehouse keygen`: a new Ed25519 key for an approver.

use std::path::PathBuf;

use clap::Args;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

use super::{Io, exit};
use crate::trust::jws::public_key_text;

/// Arguments of `gatehouse keygen`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse keygen --out alice.key\n\nWrites the private key (PKCS#8 PEM, file mode 0600; an existing file is never overwritten) and prints the public key as the line to paste into the approver's `keys` in approvers.toml:\n  keys = [\"ed25519:...\"]\nExit codes: 0 written, 2 usage error or the file exists or cannot be written."
)]
pub struct KeygenArgs {
    /// Where to write the private key.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub(super) fn run(args: &KeygenArgs, io: &mut Io<'_>) -> u8 {
    // The OS random number generator, as ed25519-dalek recommends.
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let pem = match key.to_pkcs8_pem(LineEnding::LF) {
        Ok(pem) => pem,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: cannot encode the key: {e}");
            return exit::INTERNAL;
        }
    };
    if let Err(e) = write_private(&args.out, pem.as_bytes()) {
        let _ = writeln!(
            io.stderr,
            "error: cannot write `{}`: {e}",
            args.out.display()
        );
        // a file named on the command line that cannot be written (or
        // exists: a key is never overwritten) is a usage error
        return exit::USAGE;
    }
    let _ = writeln!(
        io.stdout,
        "keys = [\"{}\"]",
        public_key_text(&key.verifying_key())
    );
    exit::OK
}

/// Creates the file (never replacing one), readable by its owner only,
/// whole or not at all ([`super::replace::create_private`]).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    super::replace::create_private(path, bytes)
}
