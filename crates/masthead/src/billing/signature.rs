//! Verifying a webhook's `Stripe-Signature` header.
//!
//! The header is `t=<unix seconds>,v1=<hex>,v1=<hex>,…` (other schemes such
//! as `v0` are ignored). Each `v1` is HMAC-SHA256, keyed with an endpoint
//! secret, over `<t>.<raw body>`. A delivery is genuine when any `v1`
//! matches any of the configured secrets (several during a secret's
//! rotation) and `t` is within the tolerance of now (replays of an old
//! delivery fail). Comparison is constant-time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's recommended tolerance.
pub const TOLERANCE_SECS: i64 = 300;
/// Headers longer than this are refused unread.
pub const MAX_HEADER_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    #[error("no v1 signature matches a configured webhook secret")]
    NoMatch,
    #[error("the signature's timestamp is outside the tolerance (a replay or a wrong clock)")]
    Stale,
}

/// Checks `header` for `body`; returns the signed timestamp.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[&str],
    now: i64,
    tolerance: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => timestamp = Some(v.parse().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::NoMatch);
    }
    let matched = secrets.iter().any(|secret| {
        // An empty key would make anyone's signature valid; configuration
        // refuses one, and so does this.
        if secret.trim().is_empty() {
            return false;
        }
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        signatures
            .iter()
            .any(|sig| mac.clone().verify_slice(sig).is_ok())
    });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    let within = now
        .checked_sub(t)
        .is_some_and(|d| d.unsigned_abs() <= tolerance.unsigned_abs());
    if !within {
        return Err(SignatureError::Stale);
    }
    Ok(t)
}

/// Builds a header the way Stripe does (for the stand-in and the tests).
pub fn sign(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return format!("t={t}"),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    #[test]
    fn a_genuine_delivery_verifies() {
        let h = sign(BODY, "whsec_one", NOW - 10);
        assert_eq!(
            verify(Some(&h), BODY, &["whsec_one"], NOW, TOLERANCE_SECS),
            Ok(NOW - 10)
        );
    }

    #[test]
    fn rotation_accepts_either_secret_and_any_v1() {
        let old = sign(BODY, "whsec_old", NOW);
        let new = sign(BODY, "whsec_new", NOW);
        let both = format!("{},{}", new, old.split(',').nth(1).unwrap_or_default());
        assert!(verify(Some(&old), BODY, &["whsec_new", "whsec_old"], NOW, 300).is_ok());
        assert!(verify(Some(&both), BODY, &["whsec_old"], NOW, 300).is_ok());
        let with_v0 = format!("{new},v0=deadbeef");
        assert!(verify(Some(&with_v0), BODY, &["whsec_new"], NOW, 300).is_ok());
    }

    #[test]
    fn an_empty_secret_never_verifies() {
        let h = sign(BODY, "", NOW);
        assert_eq!(
            verify(Some(&h), BODY, &["whsec_one", ""], NOW, 300),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn forged_tampered_replayed_and_malformed_deliveries_fail() {
        let h = sign(BODY, "whsec_one", NOW);
        assert_eq!(
            verify(None, BODY, &["whsec_one"], NOW, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some(&h), b"{\"id\":\"evt_2\"}", &["whsec_one"], NOW, 300),
            Err(SignatureError::NoMatch),
            "a changed body"
        );
        assert_eq!(
            verify(Some(&h), BODY, &["whsec_other"], NOW, 300),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(Some(&h), BODY, &["whsec_one"], NOW + 301, 300),
            Err(SignatureError::Stale),
            "a replay after five minutes"
        );
        let moved = h.replacen(&format!("t={NOW}"), &format!("t={}", NOW + 1), 1);
        assert_eq!(
            verify(Some(&moved), BODY, &["whsec_one"], NOW, 300),
            Err(SignatureError::NoMatch),
            "the timestamp is signed"
        );
        for bad in [
            "",
            "t=abc,v1=00",
            "v1=00",
            "t=1,v1=zz",
            "garbage",
            &"t=1,".repeat(2000),
        ] {
            assert!(
                verify(Some(bad), BODY, &["whsec_one"], NOW, 300).is_err(),
                "{bad:.40}"
            );
        }
        assert_eq!(
            verify(Some(&format!("t={NOW}")), BODY, &["whsec_one"], NOW, 300),
            Err(SignatureError::NoMatch)
        );
        // An extreme timestamp, correctly signed, is stale, not a panic.
        let extreme = sign(BODY, "whsec_one", i64::MIN);
        assert_eq!(
            verify(Some(&extreme), BODY, &["whsec_one"], NOW, 300),
            Err(SignatureError::Stale)
        );
    }
}
