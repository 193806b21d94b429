//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP, HMAC-SHA1,
//! 30-second steps, 6 digits: what every authenticator app speaks), the
//! base32 secrets they are given, and the replay rule: a code is accepted
//! once, and never one from a step at or before the last accepted.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (how authenticator apps take secrets).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32, ignoring case, spaces, hyphens and padding.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars() {
        if c == ' ' || c == '-' || c == '=' {
            continue;
        }
        let v = ALPHABET
            .iter()
            .position(|&a| a as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The HOTP value of `secret` at `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The step a Unix time falls in.
pub fn step_of(unix: i64) -> i64 {
    unix.div_euclid(STEP)
}

/// Checks a typed code against the steps around `now` (one either side,
/// for clocks a little off). Returns the step it matched, which must be
/// stored as the new `last_step`; `None` for a wrong code, a malformed
/// one, or one from a step at or before `last_step` (a replay).
pub fn verify(secret: &[u8], typed: &str, now: i64, last_step: i64) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u32 = digits.parse().ok()?;
    let current = step_of(now);
    (current - 1..=current + 1)
        .filter(|s| *s > last_step && *s >= 0)
        .find(|s| hotp(secret, *s as u64, DIGITS) == code)
}

/// The `otpauth://` URI authenticator apps import (usually as a QR code).
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_4226_hotp_values() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(SECRET, counter as u64, 6), *want, "counter {counter}");
        }
    }

    #[test]
    fn rfc_6238_totp_values_for_sha1() {
        for (time, want) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(SECRET, step_of(time) as u64, 8), want, "time {time}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(
            base32_decode("mzxw 6ytb-oi======"),
            Some(b"foobar".to_vec())
        );
        assert_eq!(base32_decode("not base32!"), None);
        let key: Vec<u8> = (0..20).collect();
        assert_eq!(base32_decode(&base32_encode(&key)), Some(key));
    }

    #[test]
    fn a_code_is_accepted_once_and_only_near_now() {
        let now = 1_700_000_000;
        let step = step_of(now);
        let code = format!("{:06}", hotp(SECRET, step as u64, 6));
        assert_eq!(verify(SECRET, &code, now, 0), Some(step));
        // Replayed: the same step is no longer after the last accepted.
        assert_eq!(verify(SECRET, &code, now, step), None);
        // One step of clock drift either way is fine; two is not.
        assert_eq!(verify(SECRET, &code, now + STEP, 0), Some(step));
        assert_eq!(verify(SECRET, &code, now + 2 * STEP, 0), None);
        // An older code after a newer one was used is refused.
        let previous = format!("{:06}", hotp(SECRET, (step - 1) as u64, 6));
        assert_eq!(verify(SECRET, &previous, now, step), None);
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(verify(SECRET, bad, now, 0), None, "{bad}");
        }
        assert_eq!(
            verify(SECRET, &format!(" {} {} ", &code[..3], &code[3..]), now, 0),
            Some(step)
        );
    }

    #[test]
    fn the_otpauth_uri_escapes_names() {
        let uri = otpauth_uri("The Ledger", "ed@example.com", "ABC");
        assert_eq!(
            uri,
            "otpauth://totp/The%20Ledger:ed%40example.com?secret=ABC&issuer=The%20Ledger&algorithm=SHA1&digits=6&period=30"
        );
    }
}
