//! Signing and verifying through the `gpg` program.
//!
//! Signing uses the caller's keyring (`GNUPGHOME` or `~/.gnupg`), as podman
//! does through gpgme. Verifying never does: the keys a policy trusts are
//! imported into a throwaway home, so a key the user merely has in a
//! keyring is not trusted by accident.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Result, SignError};

/// A signature checked against trusted keys: who signed, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Fingerprint of the key that made the signature (a subkey's, if a
    /// subkey signed).
    pub fingerprint: String,
    /// Fingerprint of that key's primary key.
    pub primary_fingerprint: String,
    /// The signed bytes, still to be parsed as untrusted input.
    pub payload: Vec<u8>,
}

/// The `gpg` program to run.
#[derive(Debug, Clone)]
pub struct Gpg {
    program: OsString,
    /// The keyring to sign with, when not the caller's `GNUPGHOME`.
    home: Option<PathBuf>,
    /// A file whose first line is the signing key's passphrase.
    passphrase_file: Option<PathBuf>,
}

impl Default for Gpg {
    fn default() -> Self {
        Gpg {
            program: "gpg".into(),
            home: None,
            passphrase_file: None,
        }
    }
}

impl Gpg {
    /// Signs with the keyring in `home` instead of the caller's: for a
    /// keyring that is not the user's (tests, a build's throwaway key)
    /// without changing the process environment, which other threads share.
    /// Verifying is unaffected: it never uses a caller's keyring.
    pub fn with_home(home: &Path) -> Gpg {
        Gpg {
            home: Some(home.to_path_buf()),
            ..Gpg::default()
        }
    }

    /// Unlocks the signing key with the first line of `file` instead of
    /// asking through gpg-agent's pinentry (which `--batch` cannot show).
    pub fn with_passphrase_file(mut self, file: &Path) -> Gpg {
        self.passphrase_file = Some(file.to_path_buf());
        self
    }

    /// Signs `payload` with `key` (a key ID, fingerprint or user ID the
    /// user's keyring knows), as a binary OpenPGP message that carries the
    /// payload: containers/image's signature file format.
    pub fn sign(&self, key: &str, payload: &[u8]) -> Result<Vec<u8>> {
        let mut cmd = match &self.home {
            Some(home) => self.command_in(home),
            None => self.command(),
        };
        if let Some(file) = &self.passphrase_file {
            cmd.args(["--pinentry-mode", "loopback", "--passphrase-file"])
                .arg(file);
        }
        cmd.args(["--sign", "--local-user", key, "--output", "-"]);
        self.run(cmd, payload, "sign with key")
            .map_err(|e| with_key(e, key))
    }

    /// Checks `signature` against the public keys in `trusted_keys`
    /// (armored or binary key blocks) and returns what it signs. Fails
    /// unless one of those keys made a good, unexpired signature.
    pub fn verify(&self, signature: &[u8], trusted_keys: &[Vec<u8>]) -> Result<Verified> {
        let home = tempfile::Builder::new()
            .prefix("hoist-gpg-")
            .tempdir()
            .map_err(|e| SignError::io(std::env::temp_dir(), e))?;
        for key in trusted_keys {
            let mut import = self.command_in(home.path());
            import.arg("--import");
            self.run(import, key, "import a trusted key")?;
        }
        let out = home.path().join("payload");
        let mut check = self.command_in(home.path());
        check
            .args(["--status-fd", "1", "--output"])
            .arg(&out)
            .arg("--decrypt");
        let status = self.run(check, signature, "verify a signature")?;
        let (fingerprint, primary_fingerprint) = valid_signer(&String::from_utf8_lossy(&status))?;
        let payload = std::fs::read(&out).map_err(|e| SignError::io(&out, e))?;
        Ok(Verified {
            fingerprint,
            primary_fingerprint,
            payload,
        })
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(["--batch", "--no-tty", "--quiet"]);
        cmd
    }

    fn command_in(&self, home: &Path) -> Command {
        let mut cmd = self.command();
        cmd.arg("--homedir").arg(home);
        cmd
    }

    /// Runs `cmd` with `input` on its stdin; its stdout on success, its
    /// stderr in the error otherwise.
    fn run(&self, mut cmd: Command, input: &[u8], action: &'static str) -> Result<Vec<u8>> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => SignError::GpgMissing {
                    program: self.program.to_string_lossy().into_owned(),
                },
                _ => SignError::GpgIo(e),
            })?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // gpg may stop reading early (a bad packet): a broken pipe is then
        // reported by its exit status, not here.
        let writer = std::thread::scope(|s| {
            let w = s.spawn(move || stdin.write_all(input));
            let out = child.wait_with_output();
            (w.join(), out)
        });
        let out = writer.1.map_err(SignError::GpgIo)?;
        if !out.status.success() {
            return Err(SignError::Gpg {
                action,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }
}

fn with_key(e: SignError, key: &str) -> SignError {
    match e {
        SignError::Gpg { action, stderr } => SignError::Gpg {
            action,
            stderr: format!("{key:?}: {stderr}"),
        },
        other => other,
    }
}

/// The signer of a good signature, from gpg's machine-readable status
/// lines: a `VALIDSIG` (made by a key we hold, checked, not expired) and
/// nothing that takes it back.
fn valid_signer(status: &str) -> Result<(String, String)> {
    let mut valid = None;
    for line in status.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("[GNUPG:]") {
            continue;
        }
        match words.next() {
            Some("VALIDSIG") => {
                let fields: Vec<&str> = words.collect();
                let fingerprint = fields.first().copied().unwrap_or_default();
                // The primary key's fingerprint is the last field (gpg's DETAILS).
                let primary = fields.get(9).copied().unwrap_or(fingerprint);
                valid = Some((fingerprint.to_string(), primary.to_string()));
            }
            Some(bad @ ("BADSIG" | "ERRSIG" | "EXPSIG" | "EXPKEYSIG" | "REVKEYSIG")) => {
                return Err(SignError::Gpg {
                    action: "verify a signature",
                    stderr: format!("gpg reports {bad}: {line}"),
                });
            }
            _ => {}
        }
    }
    valid.ok_or_else(|| SignError::Gpg {
        action: "verify a signature",
        stderr: "no valid signature by a trusted key".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validsig_line_names_the_signer_and_its_primary_key() {
        let status = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG AAAA Foo\n\
            [GNUPG:] VALIDSIG SUBKEYFPR 2026-12-06 1700000000 0 4 0 1 10 00 PRIMARYFPR\n";
        assert_eq!(
            valid_signer(status).unwrap(),
            ("SUBKEYFPR".to_string(), "PRIMARYFPR".to_string())
        );
    }

    #[test]
    fn no_validsig_or_a_bad_one_is_rejected() {
        assert!(valid_signer("[GNUPG:] NEWSIG\n").is_err());
        let expired = "[GNUPG:] EXPKEYSIG AAAA Foo\n[GNUPG:] VALIDSIG A 2026 1 0 4 0 1 10 00 A\n";
        assert!(valid_signer(expired).is_err());
        assert!(valid_signer("[GNUPG:] BADSIG AAAA Foo\n").is_err());
    }
}
