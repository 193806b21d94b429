//! The Admin API's tokens as Ghost defines them: a JWT signed with HS256
//! over the hex-decoded secret of an Admin API key, `kid` the key's id,
//! audience `/admin/` (or `/v2/admin/`…), valid at most 5 minutes. Pure:
//! the caller finds the secret for `kid`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The longest token read.
pub const MAX_TOKEN: usize = 4096;
/// The longest a token may be valid (`exp - iat`).
pub const MAX_LIFETIME: i64 = 5 * 60;
/// Clock difference tolerated on `exp` and `iat`.
pub const LEEWAY: i64 = 60;

/// A token split and decoded, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    pub kid: String,
    signed: String,
    signature: Vec<u8>,
    claims: serde_json::Value,
}

/// Why a token was refused (Ghost answers 401 for each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    /// Anything but HS256 (`none` included).
    Algorithm,
    BadSignature,
    Expired,
    TooLong,
    Audience,
}

impl Refused {
    pub fn message(&self) -> &'static str {
        match self {
            Refused::Malformed => "Invalid token: the Authorization header does not carry a JWT",
            Refused::Algorithm => "Invalid token: only HS256 is accepted",
            Refused::BadSignature => "Invalid token: invalid signature",
            Refused::Expired => "Invalid token: the token has expired",
            Refused::TooLong => "Invalid token: a token may be valid for at most 5 minutes",
            Refused::Audience => "Invalid token: the audience does not match this API",
        }
    }
}

fn decode_json(part: &str) -> Result<serde_json::Value, Refused> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| Refused::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| Refused::Malformed)
}

/// Splits `Ghost <token>`'s token and checks its header.
pub fn parse(token: &str) -> Result<Unverified, Refused> {
    if token.len() > MAX_TOKEN {
        return Err(Refused::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refused::Malformed);
    };
    let header = decode_json(h)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(Refused::Algorithm);
    }
    let kid = header
        .get("kid")
        .and_then(|k| k.as_str())
        .filter(|k| super::is_object_id(k))
        .ok_or(Refused::Malformed)?
        .to_string();
    let claims = decode_json(p)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| Refused::Malformed)?;
    Ok(Unverified {
        kid,
        signed: format!("{h}.{p}"),
        signature,
        claims,
    })
}

impl Unverified {
    /// Checks the signature with `secret` (the key's secret, hex-decoded),
    /// the lifetime at `now`, and that the audience is one of `audiences`.
    pub fn verify(&self, secret: &[u8], now: i64, audiences: &[&str]) -> Result<(), Refused> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Refused::BadSignature)?;
        mac.update(self.signed.as_bytes());
        mac.verify_slice(&self.signature)
            .map_err(|_| Refused::BadSignature)?;
        let num = |k: &str| self.claims.get(k).and_then(|v| v.as_i64());
        let (Some(iat), Some(exp)) = (num("iat"), num("exp")) else {
            return Err(Refused::Malformed);
        };
        if exp - iat > MAX_LIFETIME || exp < iat {
            return Err(Refused::TooLong);
        }
        if now > exp + LEEWAY || iat > now + LEEWAY {
            return Err(Refused::Expired);
        }
        let aud = match self.claims.get("aud") {
            Some(serde_json::Value::String(a)) => vec![a.as_str()],
            Some(serde_json::Value::Array(list)) => {
                list.iter().filter_map(|a| a.as_str()).collect()
            }
            _ => Vec::new(),
        };
        if !aud.iter().any(|a| audiences.contains(a)) {
            return Err(Refused::Audience);
        }
        Ok(())
    }
}

/// A token as Ghost's clients make one (for tests and tools).
pub fn sign(kid: &str, secret: &[u8], iat: i64, exp: i64, aud: &str, alg: &str) -> String {
    let header = URL_SAFE_NO_PAD
        .encode(serde_json::json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string());
    let claims =
        URL_SAFE_NO_PAD.encode(serde_json::json!({"iat": iat, "exp": exp, "aud": aud}).to_string());
    let signed = format!("{header}.{claims}");
    let sig = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(signed.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KID: &str = "5ddc9141c35e7700383b2937";
    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_good_token_passes() {
        let t = sign(KID, SECRET, 1000, 1300, "/admin/", "HS256");
        let u = parse(&t).unwrap();
        assert_eq!(u.kid, KID);
        assert_eq!(u.verify(SECRET, 1100, &["/admin/"]), Ok(()));
        assert_eq!(u.verify(SECRET, 1300 + LEEWAY, &["/admin/"]), Ok(()));
    }

    #[test]
    fn every_bad_token_is_refused() {
        let good = sign(KID, SECRET, 1000, 1300, "/admin/", "HS256");
        let u = parse(&good).unwrap();
        assert_eq!(
            u.verify(b"another secret", 1100, &["/admin/"]),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            u.verify(SECRET, 1301 + LEEWAY, &["/admin/"]),
            Err(Refused::Expired)
        );
        assert_eq!(
            u.verify(SECRET, 1000 - LEEWAY - 1, &["/admin/"]),
            Err(Refused::Expired)
        );
        assert_eq!(
            u.verify(SECRET, 1100, &["/v4/admin/"]),
            Err(Refused::Audience)
        );
        let long = sign(KID, SECRET, 1000, 1301, "/admin/", "HS256");
        assert_eq!(
            parse(&long).unwrap().verify(SECRET, 1100, &["/admin/"]),
            Err(Refused::TooLong)
        );
        for alg in ["none", "HS512", "RS256", "hs256"] {
            assert_eq!(
                parse(&sign(KID, SECRET, 1000, 1300, "/admin/", alg)),
                Err(Refused::Algorithm),
                "{alg}"
            );
        }
        // An unsigned token claiming HS256 has no signature to match.
        let unsigned = format!("{}.", good.rsplit_once('.').unwrap().0);
        assert_eq!(
            parse(&unsigned).unwrap().verify(SECRET, 1100, &["/admin/"]),
            Err(Refused::BadSignature)
        );
        // A tampered payload breaks the signature.
        let parts: Vec<&str> = good.split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(r#"{"iat":1000,"exp":999999,"aud":"/admin/"}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert_eq!(
            parse(&forged).unwrap().verify(SECRET, 5000, &["/admin/"]),
            Err(Refused::BadSignature)
        );
        for bad in ["", "a.b", "a.b.c.d", "!!!.x.y", &"x".repeat(MAX_TOKEN + 1)] {
            assert!(parse(bad).is_err(), "{bad:.20}");
        }
        let bad_kid = sign("not-hex", SECRET, 1000, 1300, "/admin/", "HS256");
        assert_eq!(parse(&bad_kid), Err(Refused::Malformed));
    }
}
