//! Newsletters: readers opt in and out per newsletter (`web`), the
//! newsroom sends an article or a digest (`sender`, through its own SMTP
//! sessions in `smtp`), each recipient's email built from one rendering
//! per segment (`render`).
//!
//! Links in newsletter emails never expire and grant nothing but what
//! they say: an unsubscribe token names one member and one newsletter, a
//! preferences token one member, each signed with the `links` keys (a
//! rotation adds a key; the older ones keep verifying).

pub mod render;
pub mod sender;
pub mod smtp;
pub mod subscriptions;
pub mod web;

use crate::access::keys::KeyRing;

/// The one-click unsubscribe token of a member for a newsletter.
pub fn unsubscribe_token(keys: &KeyRing, member_id: i64, newsletter_id: i64) -> String {
    keys.sign_ids('u', &[member_id, newsletter_id])
}

/// (member, newsletter) of a genuine unsubscribe token.
pub fn read_unsubscribe_token(keys: &KeyRing, token: &str) -> Option<(i64, i64)> {
    let ids = keys.verify_ids('u', token, 2)?;
    Some((ids[0], ids[1]))
}

/// The manage-your-newsletters token of a member.
pub fn preferences_token(keys: &KeyRing, member_id: i64) -> String {
    keys.sign_ids('p', &[member_id])
}

pub fn read_preferences_token(keys: &KeyRing, token: &str) -> Option<i64> {
    keys.verify_ids('p', token, 1).map(|ids| ids[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[(&str, &[u8])]) -> KeyRing {
        KeyRing::new(
            "links",
            keys.iter()
                .map(|(i, s)| (i.to_string(), s.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn tokens_name_their_ids_survive_rotation_and_grant_nothing_else() {
        let old = ring(&[("k1", b"first secret 0123456789abcdef0123")]);
        let t = unsubscribe_token(&old, 42, 7);
        assert_eq!(read_unsubscribe_token(&old, &t), Some((42, 7)));
        // After a rotation the old token still works.
        let rotated = ring(&[
            ("k2", b"second secret 0123456789abcdef012"),
            ("k1", b"first secret 0123456789abcdef0123"),
        ]);
        assert_eq!(read_unsubscribe_token(&rotated, &t), Some((42, 7)));
        // Another member, another newsletter, another kind: refused.
        assert_eq!(
            read_unsubscribe_token(&old, &t.replacen("42", "43", 1)),
            None
        );
        assert_eq!(read_unsubscribe_token(&old, &t.replace(".7.", ".8.")), None);
        assert_eq!(read_preferences_token(&old, &t.replacen('u', "p", 1)), None);
        let p = preferences_token(&old, 42);
        assert_eq!(read_preferences_token(&rotated, &p), Some(42));
        assert_eq!(read_unsubscribe_token(&old, &p), None);
        for junk in [
            "",
            "u",
            "u1.2",
            "u1.2.k1.zz",
            "u-1.2.k1.00000000000000000000000000000000",
            "p0.k1.00",
        ] {
            assert_eq!(read_unsubscribe_token(&old, junk), None, "{junk}");
            assert_eq!(read_preferences_token(&old, junk), None, "{junk}");
        }
    }
}
