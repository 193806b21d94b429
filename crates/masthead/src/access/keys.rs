//! Signing keys for cookies and links (the meter now; unsubscribe links and
//! others later). Keys live in the database with ids, so every process
//! signs and verifies alike, and a key can be rotated while the previous
//! ones are still accepted.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// One purpose's keys, newest first. `Debug` never shows a secret.
#[derive(Clone)]
pub struct KeyRing {
    purpose: String,
    /// (key id, the MAC already keyed and fed the purpose and key id):
    /// each signature then only clones it, skipping the key schedule.
    keys: Vec<(String, HmacSha256)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.0.as_str()).collect();
        write!(f, "KeyRing({}, ids: {ids:?})", self.purpose)
    }
}

impl KeyRing {
    /// `keys` newest first; must not be empty to sign.
    pub fn new(purpose: &str, keys: Vec<(String, Vec<u8>)>) -> KeyRing {
        let keys = keys
            .into_iter()
            .filter_map(|(kid, secret)| {
                let mut mac = HmacSha256::new_from_slice(&secret).ok()?;
                // Bind the purpose and key id so a signature cannot be
                // replayed as another purpose's.
                mac.update(purpose.as_bytes());
                mac.update(b"\0");
                mac.update(kid.as_bytes());
                mac.update(b"\0");
                Some((kid, mac))
            })
            .collect();
        KeyRing {
            purpose: purpose.to_string(),
            keys,
        }
    }

    /// Signs with the newest key: returns (key id, signature).
    pub fn sign(&self, message: &[u8]) -> Option<(String, Vec<u8>)> {
        let (kid, keyed) = self.keys.first()?;
        let mut mac = keyed.clone();
        mac.update(message);
        Some((kid.clone(), mac.finalize().into_bytes().to_vec()))
    }

    /// Verifies a signature cut to its first `signature.len()` bytes (at
    /// least 16), in constant time, against the key `kid`.
    pub fn verify_prefix(&self, kid: &str, message: &[u8], signature: &[u8]) -> bool {
        let Some((_, keyed)) = self.keys.iter().find(|(id, _)| id == kid) else {
            return false;
        };
        if signature.len() < 16 {
            return false;
        }
        let mut mac = keyed.clone();
        mac.update(message);
        mac.verify_truncated_left(signature).is_ok()
    }

    /// Verifies in constant time against the key `kid`, if it is known.
    pub fn verify(&self, kid: &str, message: &[u8], signature: &[u8]) -> bool {
        let Some((_, keyed)) = self.keys.iter().find(|(id, _)| id == kid) else {
            return false;
        };
        let mut mac = keyed.clone();
        mac.update(message);
        mac.verify_slice(signature).is_ok()
    }
}

/// The signed part of a short token: its kind and ids.
fn token_message(kind: char, ids: &[i64]) -> String {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{kind}:{}", ids.join(":"))
}

impl KeyRing {
    /// A short signed token naming `kind` and positive `ids`
    /// (`{kind}{id}.{id}.{kid}.{mac}`, the MAC truncated to 16 bytes): the
    /// links in newsletters that never expire, draft-preview links.
    pub fn sign_ids(&self, kind: char, ids: &[i64]) -> String {
        let message = token_message(kind, ids);
        let (kid, mac) = self.sign(message.as_bytes()).unwrap_or_default();
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        format!(
            "{kind}{}.{kid}.{}",
            ids.join("."),
            hex::encode(&mac[..mac.len().min(16)])
        )
    }

    /// The `count` ids of a token `sign_ids` made for `kind`, if it verifies.
    pub fn verify_ids(&self, kind: char, token: &str, count: usize) -> Option<Vec<i64>> {
        let rest = token.strip_prefix(kind)?;
        let parts: Vec<&str> = rest.split('.').collect();
        if parts.len() != count + 2 {
            return None;
        }
        let ids: Vec<i64> = parts[..count]
            .iter()
            .map(|p| p.parse::<i64>().ok().filter(|n| *n > 0))
            .collect::<Option<_>>()?;
        let kid = parts[count];
        let mac = hex::decode(parts[count + 1]).ok()?;
        if mac.len() != 16 {
            return None;
        }
        // Recompute and compare the truncated MAC in constant time.
        let message = token_message(kind, &ids);
        self.verify_prefix(kid, message.as_bytes(), &mac)
            .then_some(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[(&str, &[u8])]) -> KeyRing {
        KeyRing::new(
            "meter",
            keys.iter()
                .map(|(i, s)| (i.to_string(), s.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn signatures_verify_only_with_the_same_key_purpose_and_message() {
        let r = ring(&[("k2", b"secret-two"), ("k1", b"secret-one")]);
        let (kid, sig) = r.sign(b"hello").unwrap();
        assert_eq!(kid, "k2", "the newest key signs");
        assert!(r.verify(&kid, b"hello", &sig));
        assert!(!r.verify(&kid, b"hellp", &sig));
        assert!(!r.verify("k1", b"hello", &sig));
        assert!(!r.verify("k9", b"hello", &sig));
        let other = KeyRing::new("unsubscribe", vec![("k2".into(), b"secret-two".to_vec())]);
        assert!(!other.verify(&kid, b"hello", &sig), "purposes do not mix");
    }

    #[test]
    fn an_old_key_still_verifies_after_rotation() {
        let old = ring(&[("k1", b"secret-one")]);
        let (kid, sig) = old.sign(b"m").unwrap();
        let rotated = ring(&[("k2", b"secret-two"), ("k1", b"secret-one")]);
        assert!(rotated.verify(&kid, b"m", &sig));
        assert!(
            format!("{rotated:?}").contains("k1") && !format!("{rotated:?}").contains("secret")
        );
    }
}
