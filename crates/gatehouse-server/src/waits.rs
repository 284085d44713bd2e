//! How many waits (long-polls and event streams) each person holds at
//! once. A wait holds a connection for up to `limits.max_wait_seconds`;
//! without a per-person bound one key could hold every connection the
//! service serves (`limits.max_connections`) and starve everyone else.
//! Past `limits.max_waits_per_caller` a new wait is refused with 429
//! `TOO_MANY_WAITS`; a slot is given back when its wait ends, however it
//! ends (answered, timed out, client gone), because the slot is a value
//! dropped with the wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The waits held, by person (their normalized identity). A person is in
/// the map only while they hold a wait, so it never holds more entries
/// than there are connections.
#[derive(Debug, Default)]
pub struct WaitCounts {
    held: Arc<Mutex<HashMap<String, usize>>>,
}

/// One held wait; dropping it gives the slot back.
#[derive(Debug)]
pub struct WaitSlot {
    held: Arc<Mutex<HashMap<String, usize>>>,
    person: String,
}

impl WaitCounts {
    /// Takes a slot for `person` when they hold fewer than `max`.
    pub fn take(&self, person: &str, max: usize) -> Option<WaitSlot> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let count = held.entry(person.to_owned()).or_insert(0);
        if *count >= max {
            if *count == 0 {
                held.remove(person);
            }
            return None;
        }
        *count += 1;
        Some(WaitSlot {
            held: self.held.clone(),
            person: person.to_owned(),
        })
    }

    /// How many waits `person` holds now.
    pub fn held_by(&self, person: &str) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(person).copied().unwrap_or(0)
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = held.get_mut(&self.person) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.person);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WaitCounts;

    #[test]
    fn slots_are_bounded_per_person_and_given_back_on_drop() {
        let counts = WaitCounts::default();
        let a1 = counts.take("a", 2).expect("first");
        let a2 = counts.take("a", 2).expect("second");
        assert!(counts.take("a", 2).is_none(), "a third is refused");
        let b = counts.take("b", 2).expect("another person has their own");
        drop(a1);
        let a3 = counts.take("a", 2).expect("a slot came back");
        drop((a2, a3, b));
        assert_eq!(counts.held_by("a"), 0);
        assert!(counts.held.lock().expect("lock").is_empty());
        assert!(counts.take("z", 0).is_none());
        assert!(counts.held.lock().expect("lock").is_empty());
    }
}
