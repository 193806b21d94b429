//! Integrations and their keys: the Content API key (26 hex digits,
//! public by design: it ships in front-end code), the Admin API key
//! (`{24-hex id}:{64-hex secret}`, shown once) whose secret is sealed at
//! rest with the operator's key (it must stay usable for the HMAC that
//! Ghost's JWTs are signed with, so it cannot be hashed), and the
//! create/rotate/revoke use cases, each audited.

use crate::app::AppState;
use anyhow::Context;
use masthead_store::api::{self as store, Ids, KeyChange, NewKeys};
use masthead_store::newsroom::Actor;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use std::path::Path;

/// The environment variable that holds the sealing key (64 hex digits);
/// every node of one publication needs the same one.
pub const SEALING_KEY_ENV: &str = "MASTHEAD_API_SEALING_KEY";
/// The file in the data directory that holds it otherwise (made on first
/// start, readable by the owner only).
pub const SEALING_KEY_FILE: &str = "api-sealing.key";

/// Seals and opens Admin API secrets (ChaCha20-Poly1305, a random nonce
/// per seal).
pub struct Sealer(LessSafeKey);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(**redacted**)")
    }
}

impl Sealer {
    pub fn from_bytes(key: &[u8; 32]) -> anyhow::Result<Sealer> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, key)
            .map_err(|_| anyhow::anyhow!("the sealing key is not 32 bytes"))?;
        Ok(Sealer(LessSafeKey::new(key)))
    }

    /// The key from `MASTHEAD_API_SEALING_KEY`, or from the data
    /// directory's key file (made when missing).
    pub fn load(data_dir: &Path) -> anyhow::Result<Sealer> {
        if let Ok(text) = std::env::var(SEALING_KEY_ENV) {
            return Sealer::from_hex(text.trim())
                .with_context(|| format!("{SEALING_KEY_ENV} must be 64 hex digits"));
        }
        let path = data_dir.join(SEALING_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Sealer::from_hex(text.trim())
                .with_context(|| format!("{} must hold 64 hex digits", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                write_private(&path, &hex::encode(key))
                    .with_context(|| format!("writing {}", path.display()))?;
                Sealer::from_bytes(&key)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn from_hex(text: &str) -> anyhow::Result<Sealer> {
        let bytes = hex::decode(text)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("not 32 bytes"))?;
        Sealer::from_bytes(&key)
    }

    /// `v1:` and the hex of nonce, ciphertext and tag.
    pub fn seal(&self, secret: &str) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut data = secret.as_bytes().to_vec();
        // Sealing into a Vec with a fresh nonce cannot fail.
        let _ = self.0.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(b"masthead admin api secret"),
            &mut data,
        );
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&data);
        format!("v1:{}", hex::encode(out))
    }

    /// The secret, or `None` when it was sealed with another key or altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed.strip_prefix("v1:")?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(b"masthead admin api secret"), &mut data)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::Rng::fill(&mut rand::thread_rng(), buf.as_mut_slice());
    hex::encode(buf)
}

/// A new Content API key: 26 hex digits.
pub fn new_content_key() -> String {
    random_hex(13)
}

/// A new Admin API key id (24 hex) and secret (64 hex).
pub fn new_admin_key() -> (String, String) {
    (random_hex(12), random_hex(32))
}

/// Fresh Ghost-style ids for an object: 24 hex digits and a v4 UUID.
pub fn fresh_ids() -> Ids {
    let mut u: [u8; 16] = rand::random();
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    let h = hex::encode(u);
    Ids {
        id: random_hex(12),
        uuid: format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ),
    }
}

/// The roles an integration may act with (a newsroom role's name).
pub fn parse_role(role: &str) -> anyhow::Result<String> {
    let role = role.trim().to_ascii_lowercase();
    match role.as_str() {
        "administrator" | "editor" | "author" | "contributor" => Ok(role),
        _ => anyhow::bail!(
            "unknown role {role:?}; choose administrator, editor, author or contributor"
        ),
    }
}

/// A new integration's keys, shown once.
#[derive(Debug)]
pub struct Created {
    pub id: i64,
    pub content_key: String,
    /// `{id}:{secret}`.
    pub admin_key: String,
}

/// Creates an integration with both keys.
pub async fn add(
    state: &AppState,
    actor: Actor<'_>,
    name: &str,
    role: &str,
) -> anyhow::Result<Created> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        anyhow::bail!("an integration needs a name of 1 to 120 characters");
    }
    let role = parse_role(role)?;
    let content_key = new_content_key();
    let (key_id, secret) = new_admin_key();
    let sealed = state.sealer().seal(&secret);
    let detail = format!("{name} ({role})");
    let audit = actor.audit("integration.add", "integration", "", &detail);
    let id = store::create_integration(
        state.db(),
        name,
        &role,
        &NewKeys {
            content_key: &content_key,
            admin_key_id: &key_id,
            admin_secret_sealed: &sealed,
        },
        &audit,
        state.now(),
    )
    .await?;
    state.reload_api_keys().await?;
    Ok(Created {
        id,
        content_key,
        admin_key: format!("{key_id}:{secret}"),
    })
}

/// Which key a rotation replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Content,
    Admin,
}

/// Replaces a key; returns the new one (the Admin key as `{id}:{secret}`).
pub async fn rotate(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    which: Which,
) -> anyhow::Result<String> {
    let (change_key, shown);
    let (key_id, secret, sealed);
    let change = match which {
        Which::Content => {
            change_key = new_content_key();
            shown = change_key.clone();
            KeyChange::Content(&change_key)
        }
        Which::Admin => {
            (key_id, secret) = new_admin_key();
            sealed = state.sealer().seal(&secret);
            shown = format!("{key_id}:{secret}");
            KeyChange::Admin {
                key_id: &key_id,
                sealed: &sealed,
            }
        }
    };
    let action = match which {
        Which::Content => "integration.rotate_content_key",
        Which::Admin => "integration.rotate_admin_key",
    };
    let audit = actor.audit(action, "integration", "", "");
    store::change_integration(state.db(), id, change, &audit, state.now()).await?;
    state.reload_api_keys().await?;
    Ok(shown)
}

/// Revokes an integration: both keys stop working at once.
pub async fn revoke(state: &AppState, actor: Actor<'_>, id: i64) -> anyhow::Result<()> {
    let audit = actor.audit("integration.revoke", "integration", "", "");
    store::change_integration(state.db(), id, KeyChange::Revoke, &audit, state.now()).await?;
    state.reload_api_keys().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let a = Sealer::from_bytes(&[7; 32]).unwrap();
        let b = Sealer::from_bytes(&[8; 32]).unwrap();
        let sealed = a.seal("s3cret");
        assert_ne!(a.seal("s3cret"), sealed, "a fresh nonce per seal");
        assert!(!sealed.contains("s3cret"));
        assert_eq!(a.open(&sealed).as_deref(), Some("s3cret"));
        assert_eq!(b.open(&sealed), None);
        let mut altered = sealed.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(a.open(&altered), None);
        assert_eq!(a.open("v1:00"), None);
        assert_eq!(a.open("nonsense"), None);
    }

    #[test]
    fn keys_and_ids_have_ghosts_shapes() {
        assert!(masthead_core::api::is_hex(&new_content_key(), 26));
        let (id, secret) = new_admin_key();
        assert!(masthead_core::api::is_hex(&id, 24));
        assert!(masthead_core::api::is_hex(&secret, 64));
        let ids = fresh_ids();
        assert!(masthead_core::api::is_object_id(&ids.id));
        assert_eq!(ids.uuid.len(), 36);
        assert_eq!(&ids.uuid[14..15], "4");
        assert_ne!(fresh_ids(), fresh_ids());
    }
}
