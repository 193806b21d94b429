//! Password hashing: argon2id with the crate's recommended parameters, on
//! blocking threads, at most a few at a time so a burst of log-ins cannot
//! take every core from page serving.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// Passwords shorter than this are refused; longer than the maximum too
/// (hashing a megabyte is a denial of service, not a password).
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

pub struct Passwords {
    permits: Arc<Semaphore>,
}

/// Why a new password was refused.
pub fn check_new(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!(
            "choose a password of at least {MIN_LEN} characters"
        ));
    }
    if password.len() > MAX_LEN {
        return Err(format!("a password can be at most {MAX_LEN} bytes long"));
    }
    Ok(())
}

/// A hash of a random password, verified against when an account does not
/// exist so both cases take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let random: [u8; 16] = rand::random();
        Argon2::default()
            .hash_password(&random, &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

impl Passwords {
    pub fn new(concurrency: usize) -> Passwords {
        Passwords {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
        })
        .await?
    }

    /// Checks a password against a stored hash; with no hash (no account,
    /// or an account without a password) it verifies against a dummy so
    /// the answer takes as long, and returns false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash()).to_string();
        let password = password.as_bytes().to_vec();
        let ok = tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return false;
            };
            Argon2::default()
                .verify_password(&password, &parsed)
                .is_ok()
        })
        .await
        .unwrap_or(false);
        ok && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let p = Passwords::new(2);
        let h = p.hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(p.verify("correct horse battery", Some(&h)).await);
        assert!(!p.verify("wrong horse battery", Some(&h)).await);
        assert!(!p.verify("anything", None).await);
        assert!(!p.verify("anything", Some("not a hash")).await);
    }

    #[test]
    fn new_passwords_have_bounds() {
        assert!(check_new("short").is_err());
        assert!(check_new("long enough").is_ok());
        assert!(check_new(&"x".repeat(MAX_LEN + 1)).is_err());
    }
}
