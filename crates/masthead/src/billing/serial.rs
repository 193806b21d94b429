//! One task at a time per key (a subscription id): a map of async mutexes
//! that forgets a key once nobody holds or waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedMutexGuard;

type Slot = Arc<tokio::sync::Mutex<()>>;

#[derive(Default)]
pub struct Serial {
    slots: Mutex<HashMap<String, Slot>>,
}

pub struct SerialGuard<'a> {
    serial: &'a Serial,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Serial {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        match self.slots.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Waits until no other holder of `key` is left, then holds it until
    /// the guard drops.
    pub async fn lock(&self, key: &str) -> SerialGuard<'_> {
        let slot = self.slots().entry(key.to_string()).or_default().clone();
        let guard = slot.lock_owned().await;
        SerialGuard {
            serial: self,
            key: key.to_string(),
            guard: Some(guard),
        }
    }

    /// Keys currently held or waited for.
    pub fn len(&self) -> usize {
        self.slots().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for SerialGuard<'_> {
    fn drop(&mut self) {
        // Release first; then, if only the map still points at the slot,
        // nobody waits for it and the key can go.
        drop(self.guard.take());
        let mut slots = self.serial.slots();
        if slots
            .get(&self.key)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_holder_per_key_and_keys_are_forgotten() {
        let serial = Arc::new(Serial::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (serial, inside, most) = (serial.clone(), inside.clone(), most.clone());
            tasks.spawn(async move {
                let _g = serial.lock("sub_1").await;
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            });
        }
        // Another key is not held up by the first.
        let other = serial.lock("sub_2").await;
        drop(other);
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(serial.is_empty());
    }
}
