//! The trust policy (`policy.json`, containers-policy.json(5)): which
//! images may be pulled, and which must carry a signature, by which keys,
//! naming which image.
//!
//! Only the `docker` transport's part is applied: that is what a pull from
//! a registry consults. Other transports' sections only have to be JSON,
//! so a policy.json written for podman loads unchanged.
//!
//! The file decides whether unverified code runs, so it is read strictly:
//! an unknown field, requirement type or key type is an error, not
//! something skipped, because skipping it could weaken what its author
//! required. A signature, on the other hand, is the registry's bytes: one
//! that does not verify is passed over, and only if none is accepted does
//! the pull fail, saying why.
//!
//! Key files (`keyPath`, `keyPaths`) are read only when an image whose
//! scope requires them is checked, as podman reads them: a key missing
//! for one registry then fails pulls from that registry, not every pull.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hoist_image::reference::{parse_name, ReferenceError, DOCKER_HUB};
use hoist_image::{Digest, Reference};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{Result, SignError};
use crate::gpg::Gpg;
use crate::payload::Payload;

/// Where podman reads the system's policy.
pub const DEFAULT_PATH: &str = "/etc/containers/policy.json";
/// A key file bigger than this is not a key file (a keyring of many keys
/// is a few megabytes); the limit keeps a path like /dev/zero from
/// reading forever.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A parsed trust policy.
#[derive(Debug, Clone)]
pub struct Policy {
    default: Vec<Requirement>,
    /// `transports.docker`, by scope; the scope `""` is the transport's default.
    docker: BTreeMap<String, Vec<Requirement>>,
}

/// One condition an image must meet; a scope's list must all be met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    InsecureAcceptAnything,
    Reject,
    /// At least one signature by one of `keys` must name the image as
    /// `identity` allows.
    SignedBy {
        keys: TrustedKeys,
        identity: SignedIdentity,
    },
}

/// The OpenPGP public keys a signedBy requirement trusts.
#[derive(Clone, PartialEq, Eq)]
pub enum TrustedKeys {
    /// Key blocks given in the policy (keyData), decoded when it was parsed.
    Data(Vec<Vec<u8>>),
    /// Key files (keyPath, keyPaths), relative ones already resolved
    /// against the policy's directory. They are read by [`TrustedKeys::read`]
    /// when an image that needs them is checked, not when the policy is
    /// parsed.
    Files(Vec<PathBuf>),
}

/// Which names in a signature may stand for the image being pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedIdentity {
    /// Pulled by tag: the signature names exactly that tag. Pulled by
    /// digest: it names the same repository (the digest itself is checked
    /// against the signed one anyway).
    MatchRepoDigestOrExact,
    /// The signature names the same repository, whatever tag or digest.
    MatchRepository,
    /// The signature names exactly the tag or digest pulled.
    MatchExact,
    /// The signature names exactly this reference, whatever is pulled.
    ExactReference(Reference),
    /// The signature names this repository (`registry/path`), whatever is pulled.
    ExactRepository(String),
    /// Images whose name starts with `prefix` were signed under
    /// `signed_prefix` (a mirror of signed content): the name is rewritten,
    /// then matched as [`SignedIdentity::MatchRepoDigestOrExact`].
    RemapIdentity {
        prefix: String,
        signed_prefix: String,
    },
}

/// Why an image does not satisfy its requirements, in podman's words.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("Running image docker://{image} is rejected by policy.")]
    Rejected { image: Reference },
    #[error("A signature was required, but no signature exists")]
    NoSignature,
    #[error("Invalid GPG signature: {0}")]
    InvalidSignature(String),
    #[error(transparent)]
    InvalidPayload(SignError),
    #[error("Signature for digest {0} does not match")]
    WrongDigest(Digest),
    /// The name the signature gives, escaped for printing.
    #[error("Signature for identity {0} is not accepted")]
    WrongIdentity(String),
    #[error("None of the signatures were accepted, reasons: {}", join(.0))]
    NoneAccepted(Vec<Rejection>),
    #[error("List of verification policy requirements must not be empty")]
    NoRequirements,
    /// A key file the requirement names is missing, unreadable or empty:
    /// which one, and how to fix it.
    #[error("{0}")]
    KeyUnreadable(String),
    /// Signatures could not be checked at all (gpg missing, a temporary
    /// directory not writable): not a verdict on any signature.
    #[error("cannot check signatures: {0}")]
    Verifier(#[source] SignError),
}

fn join(reasons: &[Rejection]) -> String {
    let texts: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

// Key material is shown by size: a log full of key bytes helps nobody.
impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedKeys::Data(keys) => f
                .debug_tuple("Data")
                .field(&keys.iter().map(|k| KeySize(k.len())).collect::<Vec<_>>())
                .finish(),
            TrustedKeys::Files(paths) => f.debug_tuple("Files").field(paths).finish(),
        }
    }
}

struct KeySize(usize);

impl fmt::Debug for KeySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

impl TrustedKeys {
    /// The key blocks: keyData as parsed, key files as they are now. The
    /// error names the file that cannot be used and how to fix it.
    pub fn read(&self) -> std::result::Result<Cow<'_, [Vec<u8>]>, String> {
        match self {
            TrustedKeys::Data(keys) => Ok(Cow::Borrowed(keys)),
            TrustedKeys::Files(paths) => paths
                .iter()
                .map(|p| read_key(p))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Cow::Owned),
        }
    }
}

fn read_key(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let bytes = read_limited(path).map_err(|e| {
        format!(
            "cannot read key file {}: {e}: install the key there or correct the path in the policy",
            path.display()
        )
    })?;
    if bytes.is_empty() {
        return Err(format!(
            "key file {} is empty: export the public key into it (gpg --export KEY)",
            path.display()
        ));
    }
    Ok(bytes)
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![];
    std::fs::File::open(path)?
        .take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_KEY_FILE_BYTES} bytes, too big for a key file"
        )));
    }
    Ok(bytes)
}

impl Policy {
    /// Reads and validates a policy file; relative keyPath values are
    /// relative to the file's directory.
    pub fn load(path: &Path) -> Result<Policy> {
        let bytes = std::fs::read(path).map_err(|e| SignError::io(path, e))?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Policy::parse(&bytes, base_dir).map_err(|e| match e {
            SignError::Policy { path: None, reason } => SignError::Policy {
                path: Some(path.to_path_buf()),
                reason,
            },
            other => other,
        })
    }

    /// Parses a policy. The key files it names are resolved against
    /// `base_dir` but not read: a missing key fails the check of an image
    /// that needs it (see [`check`]), not the pulls of every other image.
    pub fn parse(bytes: &[u8], base_dir: &Path) -> Result<Policy> {
        parse_policy(bytes, base_dir).map_err(|reason| SignError::Policy { path: None, reason })
    }

    /// The requirements for a docker image: the most precise scope of
    /// `transports.docker` that matches it, else that transport's `""`
    /// scope, else `default`.
    pub fn docker_requirements(&self, image: &Reference) -> &[Requirement] {
        scopes(image)
            .iter()
            .find_map(|s| self.docker.get(s))
            .or_else(|| self.docker.get(""))
            .unwrap_or(&self.default)
    }
}

/// The scopes that may hold `image`'s requirements, most precise first:
/// the image (`name:tag` or `name@digest`), its repository, each parent
/// namespace down to the registry, then wildcards of the registry's
/// parent domains.
fn scopes(image: &Reference) -> Vec<String> {
    let name = image.name();
    let mut out = vec![identity_scope(image, &name)];
    let mut scope = name.as_str();
    out.push(scope.to_string());
    while let Some((parent, _)) = scope.rsplit_once('/') {
        out.push(parent.to_string());
        scope = parent;
    }
    out.extend(wildcard_scopes(&image.registry));
    out
}

/// A pinned digest is what is pulled, so it names the image when both a
/// tag and a digest are given (as registries.d's scopes do).
fn identity_scope(image: &Reference, name: &str) -> String {
    match (&image.digest, &image.tag) {
        (Some(d), _) => format!("{name}@{d}"),
        (None, Some(t)) => format!("{name}:{t}"),
        (None, None) => format!("{name}:latest"),
    }
}

/// `*.example.com`, then `*.com`, for `reg.example.com[:port]`: a wildcard
/// covers the subdomains of a domain, never the domain itself, and ignores
/// the port.
fn wildcard_scopes(registry: &str) -> Vec<String> {
    if registry.starts_with('[') {
        return vec![]; // an IPv6 address has no parent domains
    }
    let host = registry.split(':').next().unwrap_or(registry);
    host.match_indices('.')
        .map(|(i, _)| format!("*{}", &host[i..]))
        .collect()
}

/// A reason a policy is invalid: where in the file, what, and how to fix it.
type Parse<T> = std::result::Result<T, String>;

fn parse_policy(bytes: &[u8], base_dir: &Path) -> Parse<Policy> {
    let json: Json = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let top = Obj::new(&json, "the top level")?;
    top.only(&["default", "transports"])?;
    let default = top.get("default").ok_or(
        "\"default\" is missing: every policy needs one, such as \"default\": [{\"type\": \"reject\"}]",
    )?;
    let default = requirements(default, "default", base_dir)?;
    let docker = match top.get("transports") {
        Some(transports) => docker_scopes(transports, base_dir)?,
        None => BTreeMap::new(),
    };
    Ok(Policy { default, docker })
}

/// `transports.docker`. Scopes are not validated beyond being strings, as
/// in containers/image: a scope that names no image can only never match.
fn docker_scopes(transports: &Json, base_dir: &Path) -> Parse<BTreeMap<String, Vec<Requirement>>> {
    let transports = Obj::new(transports, "transports")?;
    let Some(docker) = transports.get("docker") else {
        return Ok(BTreeMap::new());
    };
    let docker = Obj::new(docker, "transports.docker")?;
    docker
        .fields
        .iter()
        .map(|(scope, reqs)| {
            let at = format!("transports.docker[{scope:?}]");
            Ok((scope.clone(), requirements(reqs, &at, base_dir)?))
        })
        .collect()
}

fn requirements(v: &Json, at: &str, base_dir: &Path) -> Parse<Vec<Requirement>> {
    let Json::Array(items) = v else {
        return Err(format!(
            "{at}: expected a list of requirements, found {}",
            v.kind()
        ));
    };
    if items.is_empty() {
        return Err(format!(
            "{at}: an empty list of requirements is invalid: write [{{\"type\": \"reject\"}}] \
             to refuse every image or [{{\"type\": \"insecureAcceptAnything\"}}] to accept any"
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| requirement(item, &format!("{at}[{i}]"), base_dir))
        .collect()
}

fn requirement(v: &Json, at: &str, base_dir: &Path) -> Parse<Requirement> {
    let obj = Obj::new(v, at)?;
    match obj.required_str("type")? {
        "insecureAcceptAnything" => obj.only(&["type"]).map(|()| Requirement::InsecureAcceptAnything),
        "reject" => obj.only(&["type"]).map(|()| Requirement::Reject),
        "signedBy" => signed_by(&obj, base_dir),
        "sigstoreSigned" => Err(format!(
            "{at}: sigstoreSigned requirements are not supported by hoist: \
             use signedBy with keyType GPGKeys instead"
        )),
        other => Err(format!(
            "{at}: unknown requirement type {other:?}: use insecureAcceptAnything, reject or signedBy"
        )),
    }
}

fn signed_by(obj: &Obj, base_dir: &Path) -> Parse<Requirement> {
    obj.only(&[
        "type",
        "keyType",
        "keyPath",
        "keyPaths",
        "keyData",
        "signedIdentity",
    ])?;
    check_key_type(obj)?;
    let keys = keys(obj, base_dir)?;
    let identity = match obj.get("signedIdentity") {
        None => SignedIdentity::MatchRepoDigestOrExact,
        Some(v) => signed_identity(v, &format!("{}.signedIdentity", obj.at))?,
    };
    Ok(Requirement::SignedBy { keys, identity })
}

/// containers/image names other key types (X.509 certificates and CAs)
/// but implements none of them; neither does hoist.
fn check_key_type(obj: &Obj) -> Parse<()> {
    match obj.str("keyType")? {
        Some("GPGKeys") => Ok(()),
        Some(other) => Err(format!(
            "{}: keyType {other:?} is not supported: hoist supports only GPGKeys",
            obj.at
        )),
        None => Err(format!(
            "{}: keyType is missing: set it to \"GPGKeys\", the only key type hoist supports",
            obj.at
        )),
    }
}

/// The trusted keys, from exactly one of keyPath, keyPaths and keyData:
/// with two, which one the author meant would be a guess.
fn keys(obj: &Obj, base_dir: &Path) -> Parse<TrustedKeys> {
    let given: Vec<&str> = ["keyPath", "keyPaths", "keyData"]
        .into_iter()
        .filter(|k| obj.get(k).is_some())
        .collect();
    match given.as_slice() {
        ["keyPath"] => Ok(TrustedKeys::Files(vec![key_file(
            obj.required_str("keyPath")?,
            obj.at,
            base_dir,
        )?])),
        ["keyPaths"] => key_paths(obj, base_dir).map(TrustedKeys::Files),
        ["keyData"] => Ok(TrustedKeys::Data(vec![key_data(obj)?])),
        [] => Err(format!(
            "{}: no key given: add one of keyPath, keyPaths or keyData",
            obj.at
        )),
        more => Err(format!(
            "{}: {} are all given, but only one of keyPath, keyPaths and keyData may be: keep one",
            obj.at,
            more.join(" and ")
        )),
    }
}

fn key_paths(obj: &Obj, base_dir: &Path) -> Parse<Vec<PathBuf>> {
    let at = obj.at;
    let paths = match obj.get("keyPaths") {
        Some(Json::Array(paths)) if !paths.is_empty() => paths,
        Some(Json::Array(_)) => {
            return Err(format!(
                "{at}: keyPaths is empty: list at least one key file"
            ))
        }
        _ => return Err(format!("{at}: keyPaths must be a list of key file names")),
    };
    paths
        .iter()
        .map(|p| match p {
            Json::String(p) => key_file(p, at, base_dir),
            other => Err(format!(
                "{at}: keyPaths must hold file names (strings), found {}",
                other.kind()
            )),
        })
        .collect()
}

/// A key file's name, resolved against the policy's directory; the file
/// itself is read only when an image that needs it is checked.
fn key_file(path: &str, at: &str, base_dir: &Path) -> Parse<PathBuf> {
    if path.is_empty() {
        return Err(format!(
            "{at}: a key file name is empty: name the public key's file"
        ));
    }
    Ok(base_dir.join(path))
}

/// keyData is base64 as Go encodes bytes in JSON (standard alphabet,
/// padded); Go's decoder skips line breaks, so they are allowed here too.
fn key_data(obj: &Obj) -> Parse<Vec<u8>> {
    let data = obj.required_str("keyData")?;
    let compact: String = data.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| {
            format!(
                "{}: keyData is not valid base64 ({e}): base64-encode the public key",
                obj.at
            )
        })?;
    if bytes.is_empty() {
        return Err(format!(
            "{}: keyData is empty: base64-encode the public key into it",
            obj.at
        ));
    }
    Ok(bytes)
}

fn signed_identity(v: &Json, at: &str) -> Parse<SignedIdentity> {
    let obj = Obj::new(v, at)?;
    let plain = |identity| obj.only(&["type"]).map(|()| identity);
    match obj.required_str("type")? {
        "matchRepoDigestOrExact" => plain(SignedIdentity::MatchRepoDigestOrExact),
        "matchRepository" => plain(SignedIdentity::MatchRepository),
        "matchExact" => plain(SignedIdentity::MatchExact),
        "exactReference" => exact_reference(&obj),
        "exactRepository" => exact_repository(&obj),
        "remapIdentity" => remap_identity(&obj),
        other => Err(format!(
            "{at}: unknown signedIdentity type {other:?}: use matchRepoDigestOrExact, matchRepository, \
             matchExact, exactReference, exactRepository or remapIdentity"
        )),
    }
}

/// A signature always names a tag or digest, so a reference without one
/// could never match.
fn exact_reference(obj: &Obj) -> Parse<SignedIdentity> {
    obj.only(&["type", "dockerReference"])?;
    let text = obj.required_str("dockerReference")?;
    let reference =
        signed_reference(text).map_err(|e| format!("{}: dockerReference: {e}", obj.at))?;
    if is_name_only(&reference) {
        return Err(format!(
            "{}: dockerReference {text:?} has neither a tag nor a digest: add the one signatures must name",
            obj.at
        ));
    }
    Ok(SignedIdentity::ExactReference(reference))
}

/// A tag or digest given here is ignored, as containers/image ignores it.
fn exact_repository(obj: &Obj) -> Parse<SignedIdentity> {
    obj.only(&["type", "dockerRepository"])?;
    let text = obj.required_str("dockerRepository")?;
    let reference =
        signed_reference(text).map_err(|e| format!("{}: dockerRepository: {e}", obj.at))?;
    Ok(SignedIdentity::ExactRepository(reference.name()))
}

fn remap_identity(obj: &Obj) -> Parse<SignedIdentity> {
    obj.only(&["type", "prefix", "signedPrefix"])?;
    Ok(SignedIdentity::RemapIdentity {
        prefix: remap_prefix(obj, "prefix")?,
        signed_prefix: remap_prefix(obj, "signedPrefix")?,
    })
}

/// A remapping prefix is compared with fully expanded names, so it must be
/// in that form itself, or it could never match: a `host[:port]`, or a
/// namespace or repository on one, without tag or digest. (On Docker Hub
/// `docker.io/busybox` is a namespace; the busybox image is
/// `docker.io/library/busybox`.)
fn remap_prefix(obj: &Obj, key: &str) -> Parse<String> {
    let prefix = obj.required_str(key)?;
    if is_full_prefix(prefix) {
        Ok(prefix.to_string())
    } else {
        Err(format!(
            "{}: {key} {prefix:?} is not a registry host[:port], namespace or repository in full \
             form: write it as in docker.io/library or quay.io/ns/app, without tag or digest",
            obj.at
        ))
    }
}

fn is_full_prefix(prefix: &str) -> bool {
    // A bare host is checked as the registry of some repository.
    let probe = if prefix.contains('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/x")
    };
    let Ok(parsed) = parse_name(&probe) else {
        return false;
    };
    // The domain as written must be the one names carry (not index.docker.io).
    let canonical_domain = parsed.domain.as_ref().is_some_and(|d| {
        probe
            .strip_prefix(d.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    });
    canonical_domain && parsed.tag.is_none() && parsed.digest.is_none()
}

/// A reference as a signature or policy writes it, normalized
/// (`busybox:1` is `docker.io/library/busybox:1`) but without the `:latest`
/// a pull implies: what a signature leaves out, it does not vouch for.
fn signed_reference(text: &str) -> std::result::Result<Reference, ReferenceError> {
    let parsed = parse_name(text)?;
    let registry = parsed
        .domain
        .clone()
        .unwrap_or_else(|| DOCKER_HUB.to_string());
    let mut reference = parsed.on_registry(&registry);
    reference.tag = parsed.tag;
    Ok(reference)
}

fn is_name_only(reference: &Reference) -> bool {
    reference.tag.is_none() && reference.digest.is_none()
}

impl SignedIdentity {
    /// Whether a signature naming `signed` (its docker-reference, as
    /// written) may stand for `image`, the normalized name pulled.
    pub fn matches(&self, image: &Reference, signed: &str) -> bool {
        let Ok(signed) = signed_reference(signed) else {
            return false;
        };
        match self {
            SignedIdentity::MatchRepoDigestOrExact => repo_digest_or_exact(image, &signed),
            SignedIdentity::MatchRepository => signed.name() == image.name(),
            SignedIdentity::MatchExact => exact(image, &signed),
            SignedIdentity::ExactReference(intended) => exact(intended, &signed),
            SignedIdentity::ExactRepository(repository) => signed.name() == *repository,
            SignedIdentity::RemapIdentity {
                prefix,
                signed_prefix,
            } => remap(image, prefix, signed_prefix)
                .is_some_and(|intended| repo_digest_or_exact(&intended, &signed)),
        }
    }
}

/// A tag can be moved, so pulled by tag the signature must name that tag;
/// a digest cannot, and the signed digest is checked separately, so pulled
/// by digest the repository suffices.
fn repo_digest_or_exact(intended: &Reference, signed: &Reference) -> bool {
    if is_name_only(signed) {
        return false;
    }
    if intended.tag.is_some() {
        signed.to_string() == intended.to_string()
    } else {
        intended.digest.is_some() && signed.name() == intended.name()
    }
}

fn exact(intended: &Reference, signed: &Reference) -> bool {
    !is_name_only(intended) && !is_name_only(signed) && signed.to_string() == intended.to_string()
}

/// `image` as named under `signed_prefix`, when its name starts with
/// `prefix` at a component boundary (`quay.io/a` is not a prefix of
/// `quay.io/ab`); `image` itself otherwise. None when the rewritten name
/// is not in canonical form: no signature could name it.
fn remap(image: &Reference, prefix: &str, signed_prefix: &str) -> Option<Reference> {
    let name = image.name();
    let rest = match name.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return Some(image.clone()),
    };
    let new_name = format!("{signed_prefix}{rest}");
    let mut text = new_name.clone();
    if let Some(tag) = &image.tag {
        text = format!("{text}:{tag}");
    }
    if let Some(digest) = &image.digest {
        text = format!("{text}@{digest}");
    }
    let remapped = signed_reference(&text).ok()?;
    (remapped.name() == new_name).then_some(remapped)
}

/// Ok(()) when `image` (the normalized name it is pulled as) with
/// top-level manifest `manifest_digest` satisfies every requirement in
/// `reqs`, given the signatures found for that digest. A signedBy
/// requirement needs one signature that verifies with its keys, carries a
/// valid payload for `manifest_digest`, and names `image` as its identity
/// rule allows; the others are passed over, and reported if none is
/// accepted. Its key files are read first: one that cannot be read
/// rejects the image, signatures or not.
pub fn check(
    reqs: &[Requirement],
    image: &Reference,
    manifest_digest: &Digest,
    signatures: &[Vec<u8>],
    gpg: &Gpg,
) -> std::result::Result<(), Rejection> {
    if reqs.is_empty() {
        return Err(Rejection::NoRequirements);
    }
    let subject = Subject {
        image,
        digest: manifest_digest,
        signatures,
        gpg,
    };
    reqs.iter().try_for_each(|req| subject.meets(req))
}

/// The image being checked, and what is known about it.
struct Subject<'a> {
    image: &'a Reference,
    digest: &'a Digest,
    signatures: &'a [Vec<u8>],
    gpg: &'a Gpg,
}

impl Subject<'_> {
    fn meets(&self, req: &Requirement) -> std::result::Result<(), Rejection> {
        match req {
            Requirement::InsecureAcceptAnything => Ok(()),
            Requirement::Reject => Err(Rejection::Rejected {
                image: self.image.clone(),
            }),
            Requirement::SignedBy { keys, identity } => self.signed_by(keys, identity),
        }
    }

    fn signed_by(
        &self,
        keys: &TrustedKeys,
        identity: &SignedIdentity,
    ) -> std::result::Result<(), Rejection> {
        let keys = keys.read().map_err(Rejection::KeyUnreadable)?;
        let mut reasons = vec![];
        for signature in self.signatures {
            match self.accept(signature, &keys, identity) {
                Ok(()) => return Ok(()),
                Err(fatal @ Rejection::Verifier(_)) => return Err(fatal),
                Err(reason) => reasons.push(reason),
            }
        }
        if reasons.len() > 1 {
            Err(Rejection::NoneAccepted(reasons))
        } else {
            Err(reasons.pop().unwrap_or(Rejection::NoSignature))
        }
    }

    /// The digest is checked before the name, as containers/image does: a
    /// signature of other content says nothing about this image's name.
    fn accept(
        &self,
        signature: &[u8],
        keys: &[Vec<u8>],
        identity: &SignedIdentity,
    ) -> std::result::Result<(), Rejection> {
        let verified = self.gpg.verify(signature, keys).map_err(gpg_rejection)?;
        let payload = Payload::parse(&verified.payload).map_err(Rejection::InvalidPayload)?;
        if payload.manifest_digest != *self.digest {
            return Err(Rejection::WrongDigest(payload.manifest_digest));
        }
        if !identity.matches(self.image, &payload.docker_reference) {
            let shown = payload.docker_reference.escape_debug().to_string();
            return Err(Rejection::WrongIdentity(shown));
        }
        Ok(())
    }
}

/// gpg's verdict rejects one signature; gpg not running at all is no
/// verdict, and stops the check rather than blaming every signature.
fn gpg_rejection(e: SignError) -> Rejection {
    match e {
        SignError::Gpg { .. } => Rejection::InvalidSignature(e.to_string()),
        other => Rejection::Verifier(other),
    }
}

/// JSON as the policy file has it. Objects keep every key so that a
/// duplicate, which JSON decoders resolve differently (podman's rejects
/// it), is an error rather than a silent override of a requirement.
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Number,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool => "a boolean",
            Json::Number => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Json, E> {
        Ok(Json::Bool)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Json, E> {
        Ok(Json::Number)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Json, E> {
        Ok(Json::Number)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Json, E> {
        Ok(Json::Number)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Json, E> {
        Ok(Json::String(s.to_string()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> std::result::Result<Json, E> {
        Ok(Json::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Json, A::Error> {
        let mut items = vec![];
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Json, A::Error> {
        let mut seen = HashSet::new();
        let mut fields = vec![];
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?}: keep one of its definitions"
                )));
            }
            fields.push((key, map.next_value()?));
        }
        Ok(Json::Object(fields))
    }
}

/// An object of the policy, and where it is, for messages.
struct Obj<'a> {
    fields: &'a [(String, Json)],
    at: &'a str,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Json, at: &'a str) -> Parse<Obj<'a>> {
        match v {
            Json::Object(fields) => Ok(Obj { fields, at }),
            other => Err(format!("{at}: expected an object, found {}", other.kind())),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Json> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn str(&self, key: &str) -> Parse<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!(
                "{}: {key} must be a string, found {}",
                self.at,
                other.kind()
            )),
        }
    }

    fn required_str(&self, key: &str) -> Parse<&'a str> {
        self.str(key)?
            .ok_or_else(|| format!("{}: {key:?} is missing", self.at))
    }

    fn only(&self, allowed: &[&str]) -> Parse<()> {
        match self
            .fields
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((k, _)) => Err(format!(
                "{}: unknown field {k:?} (allowed here: {}): remove it or correct its spelling",
                self.at,
                allowed.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;
    use std::process::Command;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn digest(data: &[u8]) -> Digest {
        Digest::sha256_of(data)
    }

    fn parse(json: &str) -> Result<Policy> {
        Policy::parse(json.as_bytes(), Path::new("/nonexistent"))
    }

    fn error(json: &str) -> String {
        parse(json).unwrap_err().to_string()
    }

    /// A signedBy requirement whose only key is `label`: lets a test see
    /// which scope was chosen.
    fn labelled(label: &str) -> serde_json::Value {
        json!([{"type": "signedBy", "keyType": "GPGKeys", "keyData": STANDARD.encode(label)}])
    }

    fn label(reqs: &[Requirement]) -> String {
        match reqs {
            [Requirement::SignedBy {
                keys: TrustedKeys::Data(keys),
                ..
            }] => String::from_utf8(keys[0].clone()).unwrap(),
            [Requirement::Reject] => "default".to_string(),
            other => panic!("unexpected requirements {other:?}"),
        }
    }

    fn signed_by_data(identity: serde_json::Value) -> String {
        json!({"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "a2V5",
            "signedIdentity": identity}]})
        .to_string()
    }

    fn identity_of(json: &str) -> SignedIdentity {
        match parse(json).unwrap().default.as_slice() {
            [Requirement::SignedBy { identity, .. }] => identity.clone(),
            other => panic!("unexpected requirements {other:?}"),
        }
    }

    #[test]
    fn parses_each_requirement_type_and_key_source_without_reading_key_files() {
        // Neither key file exists: only a check would read them.
        let dir = Path::new("/nonexistent/policy-dir");
        let b = Path::new("/elsewhere/sub/b.gpg");
        let text = json!({
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {"docker": {
                "r.io/reject": [{"type": "reject"}],
                "r.io/path": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "a.gpg"}],
                "r.io/paths": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["a.gpg", b]}],
                "r.io/data": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "a2V5\n"}],
                "r.io/two": [{"type": "insecureAcceptAnything"}, {"type": "reject"}],
            }}
        })
        .to_string();
        let p = Policy::parse(text.as_bytes(), dir).unwrap();
        let signed = |keys| {
            vec![Requirement::SignedBy {
                keys,
                identity: SignedIdentity::MatchRepoDigestOrExact,
            }]
        };
        let reqs = |s: &str| p.docker_requirements(&r(s)).to_vec();
        assert_eq!(reqs("r.io/reject"), vec![Requirement::Reject]);
        assert_eq!(
            reqs("r.io/path"),
            signed(TrustedKeys::Files(vec![dir.join("a.gpg")]))
        );
        assert_eq!(
            reqs("r.io/paths"),
            signed(TrustedKeys::Files(vec![dir.join("a.gpg"), b.to_path_buf()]))
        );
        assert_eq!(
            reqs("r.io/data"),
            signed(TrustedKeys::Data(vec![b"key".to_vec()]))
        );
        assert_eq!(
            reqs("r.io/two"),
            vec![Requirement::InsecureAcceptAnything, Requirement::Reject]
        );
        assert_eq!(
            reqs("other.io/x"),
            vec![Requirement::InsecureAcceptAnything]
        );
    }

    #[test]
    fn parses_each_signed_identity_type() {
        let id = |v| identity_of(&signed_by_data(v));
        assert_eq!(
            id(json!({"type": "matchRepoDigestOrExact"})),
            SignedIdentity::MatchRepoDigestOrExact
        );
        assert_eq!(
            id(json!({"type": "matchRepository"})),
            SignedIdentity::MatchRepository
        );
        assert_eq!(
            id(json!({"type": "matchExact"})),
            SignedIdentity::MatchExact
        );
        assert_eq!(
            id(json!({"type": "exactReference", "dockerReference": "busybox:1"})),
            SignedIdentity::ExactReference(r("docker.io/library/busybox:1"))
        );
        assert_eq!(
            id(json!({"type": "exactRepository", "dockerRepository": "busybox"})),
            SignedIdentity::ExactRepository("docker.io/library/busybox".into())
        );
        assert_eq!(
            id(
                json!({"type": "remapIdentity", "prefix": "mirror.local:5000/quay", "signedPrefix": "quay.io"})
            ),
            SignedIdentity::RemapIdentity {
                prefix: "mirror.local:5000/quay".into(),
                signed_prefix: "quay.io".into()
            }
        );
        let unspecified =
            r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "a2V5"}]}"#;
        assert_eq!(
            identity_of(unspecified),
            SignedIdentity::MatchRepoDigestOrExact
        );
    }

    #[test]
    fn invalid_policies_say_where_and_what_to_fix() {
        let key = r#""keyType": "GPGKeys", "keyData": "a2V5""#;
        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "the top level: expected an object"),
            (r#"{"transports": {}}"#, "\"default\" is missing"),
            (
                r#"{"default": []}"#,
                "default: an empty list of requirements is invalid",
            ),
            (
                r#"{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": []}}}"#,
                "transports.docker[\"quay.io\"]: an empty list",
            ),
            (
                r#"{"default": [{"type": "accept"}]}"#,
                "default[0]: unknown requirement type \"accept\"",
            ),
            (r#"{"default": [{}]}"#, "default[0]: \"type\" is missing"),
            (r#"{"default": [{"type": 1}]}"#, "type must be a string"),
            (
                r#"{"default": [{"type": "reject", "why": 1}]}"#,
                "unknown field \"why\"",
            ),
            (
                r#"{"default": [{"type": "reject"}], "defualt": []}"#,
                "unknown field \"defualt\"",
            ),
            (
                r#"{"default": [{"type": "reject"}, {"type": "reject"}], "default": []}"#,
                "duplicate key \"default\"",
            ),
            (
                r#"{"default": [{"type": "sigstoreSigned", "keyPath": "k"}]}"#,
                "not supported by hoist",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "X509Certificates", "keyData": "a2V5"}]}"#,
                "keyType \"X509Certificates\" is not supported: hoist supports only GPGKeys",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyData": "a2V5"}]}"#,
                "keyType is missing",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}"#,
                "add one of keyPath, keyPaths or keyData",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "a2V5", "keyPath": "/k"}]}"#,
                "keyPath and keyData are all given",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": []}]}"#,
                "keyPaths is empty",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": [1]}]}"#,
                "must hold file names",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "!!"}]}"#,
                "keyData is not valid base64",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": ""}]}"#,
                "keyData is empty",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": ""}]}"#,
                "default[0]: a key file name is empty",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["k", ""]}]}"#,
                "default[0]: a key file name is empty",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": ["k"]}]}"#,
                "keyPath must be a string",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": "k"}]}"#,
                "keyPaths must be a list of key file names",
            ),
            (
                r#"{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "k", "keyPaths": ["k"]}]}"#,
                "keyPath and keyPaths are all given",
            ),
            (
                &format!(
                    r#"{{"default": [{{"type": "signedBy", {key}, "signedIdentity": {{"type": "matchAnything"}}}}]}}"#
                ),
                "default[0].signedIdentity: unknown signedIdentity type \"matchAnything\"",
            ),
            (
                &format!(
                    r#"{{"default": [{{"type": "signedBy", {key}, "signedIdentity": {{"type": "matchExact", "x": 1}}}}]}}"#
                ),
                "unknown field \"x\"",
            ),
            (
                &format!(
                    r#"{{"default": [{{"type": "signedBy", {key}, "signedIdentity": {{"type": "exactReference", "dockerReference": "quay.io/a"}}}}]}}"#
                ),
                "has neither a tag nor a digest",
            ),
            (
                &format!(
                    r#"{{"default": [{{"type": "signedBy", {key}, "signedIdentity": {{"type": "exactReference"}}}}]}}"#
                ),
                "\"dockerReference\" is missing",
            ),
            (
                &format!(
                    r#"{{"default": [{{"type": "signedBy", {key}, "signedIdentity": {{"type": "exactRepository", "dockerRepository": "Bad"}}}}]}}"#
                ),
                "dockerRepository: invalid image reference",
            ),
            (
                &format!(
                    r#"{{"default": [{{"type": "signedBy", {key}, "signedIdentity": {{"type": "remapIdentity", "prefix": "library/busybox", "signedPrefix": "quay.io"}}}}]}}"#
                ),
                "prefix \"library/busybox\" is not a registry host[:port]",
            ),
            (
                &format!(
                    r#"{{"default": [{{"type": "signedBy", {key}, "signedIdentity": {{"type": "remapIdentity", "prefix": "quay.io", "signedPrefix": "quay.io/a:1"}}}}]}}"#
                ),
                "signedPrefix \"quay.io/a:1\"",
            ),
            (
                r#"{"default": [{"type": "reject"}], "transports": []}"#,
                "transports: expected an object",
            ),
            (
                r#"{"default": [{"type": "reject"}], "transports": {"docker": {"": {}}}}"#,
                "expected a list of requirements",
            ),
        ];
        for (json, expected) in cases {
            let e = error(json);
            assert!(e.contains("invalid trust policy"), "{json}: {e}");
            assert!(e.contains(expected), "{json}: {e:?} lacks {expected:?}");
        }
    }

    #[test]
    fn remap_prefixes_must_be_in_full_form() {
        for good in [
            "quay.io",
            "localhost:5000",
            "docker.io/library",
            "docker.io/busybox",
            "quay.io/ns/app",
            "[::1]:5000",
        ] {
            assert!(is_full_prefix(good), "{good}");
        }
        for bad in [
            "",
            "busybox",
            "library/busybox",
            "quay.io/a:1",
            "quay.io/a@sha256:x",
            "*.io",
            "quay.io/",
            "index.docker.io",
            "index.docker.io/library",
            "Quay.io/A",
        ] {
            assert!(!is_full_prefix(bad), "{bad}");
        }
    }

    #[test]
    fn other_transports_only_need_to_be_json() {
        let p = parse(
            r#"{"default": [{"type": "reject"}], "transports": {
                "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]},
                "atomic": {"x": [{"type": "sigstoreSigned", "anything": true}]},
                "oci": [1, null, 2.5]}}"#,
        )
        .unwrap();
        assert_eq!(
            p.docker_requirements(&r("quay.io/a")),
            [Requirement::Reject]
        );
    }

    #[test]
    fn load_reads_keys_relative_to_the_policy_and_names_the_file_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/k.gpg"), b"K").unwrap();
        std::fs::write(dir.path().join("keys/empty.gpg"), b"").unwrap();
        let path = dir.path().join("policy.json");
        // A bad key under one registry's scope, as Fedora's stock policy
        // may have for registry.redhat.io when the key is not installed.
        let policy = |key_path: &str| {
            json!({"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": {
                "registry.example.com": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": key_path}]}}})
            .to_string()
        };
        let (gpg, d) = (Gpg::default(), digest(b"manifest"));
        let scoped = r("registry.example.com/ns/app:1");
        let elsewhere = r("quay.io/ns/app:1");

        std::fs::write(&path, policy("keys/k.gpg")).unwrap();
        let p = Policy::load(&path).unwrap();
        let keys = match p.docker_requirements(&scoped) {
            [Requirement::SignedBy { keys, .. }] => keys.clone(),
            other => panic!("unexpected requirements {other:?}"),
        };
        assert_eq!(
            keys,
            TrustedKeys::Files(vec![dir.path().join("keys/k.gpg")])
        );
        assert_eq!(keys.read().unwrap().as_ref(), [b"K".to_vec()]);

        let gone = dir.path().join("keys/gone.gpg");
        let empty = dir.path().join("keys/empty.gpg");
        for (key_path, expected) in [
            (
                "keys/gone.gpg",
                format!(
                    "cannot read key file {}: No such file or directory (os error 2): \
                     install the key there or correct the path in the policy",
                    gone.display()
                ),
            ),
            (
                "keys/empty.gpg",
                format!(
                    "key file {} is empty: export the public key into it (gpg --export KEY)",
                    empty.display()
                ),
            ),
        ] {
            std::fs::write(&path, policy(key_path)).unwrap();
            let p = Policy::load(&path).unwrap_or_else(|e| panic!("{key_path}: {e}"));
            // Other scopes never read the key.
            check(p.docker_requirements(&elsewhere), &elsewhere, &d, &[], &gpg).unwrap();
            // The scope that needs it is rejected naming the file, whether
            // signatures were found or not.
            for signatures in [vec![], vec![b"junk".to_vec()]] {
                let e = check(
                    p.docker_requirements(&scoped),
                    &scoped,
                    &d,
                    &signatures,
                    &gpg,
                )
                .unwrap_err();
                assert!(matches!(e, Rejection::KeyUnreadable(_)), "{e:?}");
                assert_eq!(e.to_string(), expected);
            }
        }

        let missing = Policy::load(&dir.path().join("nope.json")).unwrap_err();
        assert!(matches!(missing, SignError::Io { .. }), "{missing}");
    }

    #[test]
    fn every_key_file_must_be_readable_and_of_key_size() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.gpg");
        std::fs::write(&good, b"G").unwrap();
        let gone = dir.path().join("gone.gpg");
        let keys = TrustedKeys::Files(vec![good.clone(), gone.clone()]);
        let e = keys.read().unwrap_err();
        assert!(
            e.starts_with(&format!("cannot read key file {}: ", gone.display())),
            "{e}"
        );
        let big = dir.path().join("big.gpg");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_KEY_FILE_BYTES + 1)
            .unwrap();
        let e = TrustedKeys::Files(vec![big]).read().unwrap_err();
        assert!(e.contains("too big for a key file"), "{e}");
        let keys = TrustedKeys::Files(vec![good.clone(), good]);
        assert_eq!(
            keys.read().unwrap().as_ref(),
            [b"G".to_vec(), b"G".to_vec()]
        );
    }

    #[test]
    fn debug_shows_key_sizes_not_key_bytes() {
        let req = Requirement::SignedBy {
            keys: TrustedKeys::Data(vec![b"SECRETISH".to_vec()]),
            identity: SignedIdentity::MatchExact,
        };
        let shown = format!("{req:?}");
        assert!(!shown.contains("83, 69"), "{shown}");
        assert!(shown.contains("Data([<9 bytes>])"), "{shown}");
        let files = TrustedKeys::Files(vec![PathBuf::from("/etc/pki/k.gpg")]);
        assert_eq!(format!("{files:?}"), "Files([\"/etc/pki/k.gpg\"])");
    }

    #[test]
    fn no_bytes_make_the_parser_panic() {
        let valid = signed_by_data(
            json!({"type": "remapIdentity", "prefix": "a.io", "signedPrefix": "b.io"}),
        );
        for end in 0..valid.len() {
            let _ = parse(&valid[..end]);
        }
        let mut state: u32 = 0x2545_f491;
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    b"{}[]\":,ab0 \\"[(state % 12) as usize]
                })
                .collect();
            let _ = Policy::parse(&bytes, Path::new("/nonexistent"));
        }
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
        assert!(Policy::parse(&[0xff, 0xfe, 0x00], Path::new("/")).is_err());
    }

    #[test]
    fn the_most_precise_scope_wins_then_the_empty_scope_then_default() {
        let mut docker = serde_json::Map::new();
        for (scope, name) in [
            ("reg.example.com/ns/app:1", "tag"),
            (&format!("reg.example.com/ns/app@{D}"), "digest"),
            ("reg.example.com/ns/app", "repo"),
            ("reg.example.com/ns", "namespace"),
            ("reg.example.com", "host"),
            ("*.example.com", "wildcard"),
            ("*.com", "tld"),
            ("docker.io/library", "library"),
            ("", "any"),
        ] {
            docker.insert(scope.to_string(), labelled(name));
        }
        let text =
            json!({"default": [{"type": "reject"}], "transports": {"docker": docker}}).to_string();
        let p = parse(&text).unwrap();
        let chosen = |image: &str| label(p.docker_requirements(&r(image)));
        assert_eq!(chosen("reg.example.com/ns/app:1"), "tag");
        assert_eq!(chosen(&format!("reg.example.com/ns/app:1@{D}")), "digest");
        assert_eq!(chosen(&format!("reg.example.com/ns/app@{D}")), "digest");
        assert_eq!(chosen("reg.example.com/ns/app:2"), "repo");
        assert_eq!(chosen("reg.example.com/ns/other"), "namespace");
        assert_eq!(chosen("reg.example.com/ns/deeper/app:1"), "namespace");
        assert_eq!(chosen("reg.example.com/nsx/app"), "host");
        assert_eq!(chosen("reg.example.com:5000/ns/app:1"), "wildcard");
        assert_eq!(chosen("a.b.example.com/app"), "wildcard");
        assert_eq!(
            chosen("example.com/app"),
            "tld",
            "a wildcard never matches the bare domain"
        );
        assert_eq!(chosen("busybox"), "library");
        assert_eq!(chosen("quay.io/a/b"), "any");
        assert_eq!(chosen("localhost:5000/a"), "any");
        assert_eq!(chosen("[::1]:5000/a"), "any");

        let text = json!({"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": labelled("quay")}}});
        let p = parse(&text.to_string()).unwrap();
        assert_eq!(label(p.docker_requirements(&r("quay.io/a/b:1"))), "quay");
        assert_eq!(label(p.docker_requirements(&r("busybox"))), "default");
    }

    #[test]
    fn scopes_list_the_image_its_namespaces_and_wildcards_in_order() {
        assert_eq!(
            scopes(&r("reg.example.com:5000/ns/app")),
            [
                "reg.example.com:5000/ns/app:latest",
                "reg.example.com:5000/ns/app",
                "reg.example.com:5000/ns",
                "reg.example.com:5000",
                "*.example.com",
                "*.com"
            ]
        );
    }

    #[test]
    fn match_repo_digest_or_exact_needs_the_tag_pulled_or_the_repository_of_a_digest() {
        let id = SignedIdentity::MatchRepoDigestOrExact;
        let by_tag = r("quay.io/a/b:1");
        let by_digest = r(&format!("quay.io/a/b@{D}"));
        assert!(id.matches(&by_tag, "quay.io/a/b:1"));
        assert!(!id.matches(&by_tag, "quay.io/a/b:2"));
        assert!(
            !id.matches(&by_tag, "quay.io/a/b"),
            "a signature must name a tag or digest"
        );
        assert!(!id.matches(&by_tag, &format!("quay.io/a/b@{D}")));
        assert!(!id.matches(&by_tag, "quay.io/a/c:1"));
        assert!(!id.matches(&by_tag, "not a reference"));
        assert!(id.matches(&by_digest, "quay.io/a/b:whatever"));
        assert!(id.matches(&by_digest, &format!("quay.io/a/b@{D}")));
        assert!(!id.matches(&by_digest, "quay.io/a/b"));
        assert!(!id.matches(&by_digest, "quay.io/a/c:1"));
        let hub = r("busybox");
        assert!(
            id.matches(&hub, "busybox:latest"),
            "signatures are normalized"
        );
        assert!(id.matches(&hub, "docker.io/library/busybox:latest"));
        assert!(
            !id.matches(&hub, "busybox"),
            "no :latest is implied in a signature"
        );
    }

    #[test]
    fn match_repository_and_exact_repository_ignore_tags() {
        let image = r("quay.io/a/b:1");
        let id = SignedIdentity::MatchRepository;
        assert!(id.matches(&image, "quay.io/a/b:2"));
        assert!(id.matches(&image, "quay.io/a/b"));
        assert!(!id.matches(&image, "quay.io/a/bc:1"));
        let id = SignedIdentity::ExactRepository("quay.io/x/y".into());
        assert!(id.matches(&image, "quay.io/x/y:any"));
        assert!(!id.matches(&image, "quay.io/a/b:1"));
    }

    #[test]
    fn match_exact_and_exact_reference_need_the_same_tag_or_digest() {
        let id = SignedIdentity::MatchExact;
        let by_digest = r(&format!("quay.io/a/b@{D}"));
        assert!(id.matches(&by_digest, &format!("quay.io/a/b@{D}")));
        assert!(!id.matches(&by_digest, "quay.io/a/b:1"));
        assert!(id.matches(&r("quay.io/a/b:1"), "quay.io/a/b:1"));
        assert!(!id.matches(&r("quay.io/a/b:1"), "quay.io/a/b:2"));
        let id = SignedIdentity::ExactReference(r("quay.io/x/y:v1"));
        assert!(id.matches(&r("quay.io/a/b:1"), "quay.io/x/y:v1"));
        assert!(!id.matches(&r("quay.io/a/b:1"), "quay.io/a/b:1"));
        assert!(!id.matches(&r("quay.io/x/y:v1"), "quay.io/x/y:v2"));
    }

    #[test]
    fn remap_identity_rewrites_a_matching_prefix_at_a_component_boundary() {
        let remap = |prefix: &str, signed_prefix: &str| SignedIdentity::RemapIdentity {
            prefix: prefix.into(),
            signed_prefix: signed_prefix.into(),
        };
        let id = remap("mirror.local/quay", "quay.io");
        assert!(id.matches(&r("mirror.local/quay/ns/app:1"), "quay.io/ns/app:1"));
        assert!(!id.matches(
            &r("mirror.local/quay/ns/app:1"),
            "mirror.local/quay/ns/app:1"
        ));
        assert!(!id.matches(&r("mirror.local/quay/ns/app:1"), "quay.io/ns/app:2"));
        // Not at a boundary: not rewritten, so matched as it is.
        assert!(id.matches(&r("mirror.local/quayx/app:1"), "mirror.local/quayx/app:1"));
        assert!(!id.matches(&r("mirror.local/quayx/app:1"), "quay.iox/app:1"));
        let host = remap("mirror.local", "quay.io");
        assert!(host.matches(&r("mirror.local/ns/app:1"), "quay.io/ns/app:1"));
        assert!(host.matches(&r(&format!("mirror.local/ns/app@{D}")), "quay.io/ns/app:9"));
        // docker.io/busybox is not how docker.io/library/busybox is written.
        let hub = remap("example.com/mirror", "docker.io");
        assert!(!hub.matches(
            &r("example.com/mirror/busybox:1"),
            "docker.io/library/busybox:1"
        ));
        assert!(!hub.matches(&r("example.com/mirror/busybox:1"), "busybox:1"));
    }

    #[test]
    fn check_without_signatures() {
        let gpg = Gpg::default();
        let image = r("quay.io/ns/app:1");
        let d = digest(b"manifest");
        let run = |reqs: &[Requirement]| check(reqs, &image, &d, &[], &gpg);
        assert!(run(&[Requirement::InsecureAcceptAnything]).is_ok());
        let e = run(&[Requirement::InsecureAcceptAnything, Requirement::Reject]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Running image docker://quay.io/ns/app:1 is rejected by policy."
        );
        assert!(matches!(run(&[]), Err(Rejection::NoRequirements)));
        let signed = Requirement::SignedBy {
            keys: TrustedKeys::Data(vec![b"k".to_vec()]),
            identity: SignedIdentity::MatchRepoDigestOrExact,
        };
        let e = run(&[signed]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "A signature was required, but no signature exists"
        );
    }

    /// A throwaway GnuPG home with one signing key.
    struct Keyring {
        home: tempfile::TempDir,
        public: Vec<u8>,
    }

    fn gpg_in(home: &Path, args: &[&str]) -> Vec<u8> {
        let out = Command::new("gpg")
            .arg("--homedir")
            .arg(home)
            .args(["--batch", "--no-tty", "--quiet"])
            .args(args)
            .output()
            .expect("these tests need gpg (/usr/bin/gpg): install gnupg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    impl Keyring {
        fn new() -> Keyring {
            let home = tempfile::tempdir().unwrap();
            gpg_in(
                home.path(),
                &[
                    "--passphrase",
                    "",
                    "--quick-gen-key",
                    "Test <t@example.com>",
                    "ed25519",
                    "sign",
                    "never",
                ],
            );
            let public = gpg_in(home.path(), &["--export"]);
            assert!(!public.is_empty(), "gpg exported no key");
            Keyring { home, public }
        }

        fn sign(&self, reference: &str, digest: &Digest) -> Vec<u8> {
            let payload = Payload::new(reference.to_string(), digest.clone(), 1_700_000_000);
            Gpg::with_home(self.home.path())
                .sign("t@example.com", &payload.to_json())
                .unwrap()
        }

        fn requirement(&self) -> Requirement {
            Requirement::SignedBy {
                keys: TrustedKeys::Data(vec![self.public.clone()]),
                identity: SignedIdentity::MatchRepoDigestOrExact,
            }
        }
    }

    // The agent gpg started for this home would outlive the test.
    impl Drop for Keyring {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(self.home.path())
                .args(["--kill", "all"])
                .status();
        }
    }

    #[test]
    fn a_good_signature_from_a_parsed_policy_is_accepted() {
        let keys = Keyring::new();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.gpg"), &keys.public).unwrap();
        let path = dir.path().join("policy.json");
        let text = json!({"default": [{"type": "reject"}], "transports": {"docker": {
            "quay.io/ns": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "key.gpg"}]}}});
        std::fs::write(&path, text.to_string()).unwrap();
        let policy = Policy::load(&path).unwrap();
        let image = r("quay.io/ns/app:1");
        let d = digest(b"manifest");
        let good = keys.sign("quay.io/ns/app:1", &d);
        let reqs = policy.docker_requirements(&image);
        check(
            reqs,
            &image,
            &d,
            std::slice::from_ref(&good),
            &Gpg::default(),
        )
        .unwrap();
        // Invalid signatures beside a good one are passed over.
        check(reqs, &image, &d, &[b"junk".to_vec(), good], &Gpg::default()).unwrap();
        let other = r("quay.io/elsewhere/app:1");
        let e = check(
            policy.docker_requirements(&other),
            &other,
            &d,
            &[],
            &Gpg::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Running image docker://quay.io/elsewhere/app:1 is rejected by policy."
        );
    }

    #[test]
    fn a_signature_by_another_key_is_rejected() {
        let (signer, trusted) = (Keyring::new(), Keyring::new());
        let d = digest(b"manifest");
        let image = r("quay.io/ns/app:1");
        let sig = signer.sign("quay.io/ns/app:1", &d);
        let e = check(
            &[trusted.requirement()],
            &image,
            &d,
            &[sig],
            &Gpg::default(),
        )
        .unwrap_err();
        assert!(matches!(e, Rejection::InvalidSignature(_)), "{e:?}");
        assert!(e.to_string().starts_with("Invalid GPG signature: "), "{e}");
    }

    #[test]
    fn a_signature_of_another_digest_is_rejected() {
        let keys = Keyring::new();
        let (pulled, signed) = (digest(b"manifest"), digest(b"other manifest"));
        let image = r("quay.io/ns/app:1");
        let sig = keys.sign("quay.io/ns/app:1", &signed);
        let e = check(
            &[keys.requirement()],
            &image,
            &pulled,
            &[sig],
            &Gpg::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Signature for digest {signed} does not match")
        );
    }

    #[test]
    fn a_signature_of_another_name_is_rejected_and_every_reason_is_given() {
        let keys = Keyring::new();
        let d = digest(b"manifest");
        let image = r("quay.io/ns/app:1");
        let sig = keys.sign("quay.io/ns/app:2", &d);
        let e = check(
            &[keys.requirement()],
            &image,
            &d,
            std::slice::from_ref(&sig),
            &Gpg::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Signature for identity quay.io/ns/app:2 is not accepted"
        );
        let e = check(
            &[keys.requirement()],
            &image,
            &d,
            &[b"junk".to_vec(), sig],
            &Gpg::default(),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(&e, Rejection::NoneAccepted(r) if r.len() == 2),
            "{e:?}"
        );
        assert!(
            text.starts_with(
                "None of the signatures were accepted, reasons: Invalid GPG signature: "
            ),
            "{text}"
        );
        assert!(
            text.ends_with("; Signature for identity quay.io/ns/app:2 is not accepted"),
            "{text}"
        );
    }

    #[test]
    fn every_requirement_must_hold() {
        let keys = Keyring::new();
        let d = digest(b"manifest");
        let image = r("quay.io/ns/app:1");
        let sig = keys.sign("quay.io/ns/app:1", &d);
        let reqs = [keys.requirement(), Requirement::Reject];
        let e = check(&reqs, &image, &d, &[sig], &Gpg::default()).unwrap_err();
        assert!(matches!(e, Rejection::Rejected { .. }), "{e:?}");
        let e = check(&[keys.requirement()], &image, &d, &[], &Gpg::default()).unwrap_err();
        assert!(matches!(e, Rejection::NoSignature), "{e:?}");
    }
}
