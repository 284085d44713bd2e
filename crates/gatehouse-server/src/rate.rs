//! Rate limits: one token bucket per person (`[limits] rate_per_second`,
//! `rate_burst`), keyed by the identity's normalized form so that two keys
//! of one person (or two spellings of their name) share one bucket.
//!
//! The map of buckets is bounded: a bucket that has refilled to its burst is
//! indistinguishable from no bucket, so it is dropped when the map is full;
//! when every bucket in a full map is still in use, a caller without one is
//! refused (429) rather than let the map grow: memory stays bounded under a
//! flood of distinct identities, and the limit fails closed.

use std::collections::HashMap;
use std::time::Instant;

/// The most buckets kept at once.
pub const MAX_BUCKETS: usize = 100_000;

/// One caller's tokens at a moment.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every caller.
#[derive(Debug)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
    cap: usize,
}

impl Default for RateLimiter {
    fn default() -> RateLimiter {
        RateLimiter::with_capacity(MAX_BUCKETS)
    }
}

impl RateLimiter {
    /// A limiter holding at most `cap` buckets.
    pub fn with_capacity(cap: usize) -> RateLimiter {
        RateLimiter {
            buckets: HashMap::new(),
            cap: cap.max(1),
        }
    }

    /// How many buckets are held.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Takes one token from `person`'s bucket at `now`: `Err(seconds)` to
    /// wait (at least 1) when there is none. `rate` is tokens per second
    /// (> 0); `burst` the bucket's size (at least 1).
    pub fn take(&mut self, person: &str, now: Instant, rate: f64, burst: f64) -> Result<(), u64> {
        let burst = burst.max(1.0);
        if !self.buckets.contains_key(person) && self.buckets.len() >= self.cap {
            // A full bucket holds nothing a fresh one would not.
            self.buckets.retain(|_, b| {
                let refilled = b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate;
                refilled < burst
            });
            if self.buckets.len() >= self.cap {
                return Err(1);
            }
        }
        let bucket = self.buckets.entry(person.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            let wait = ((1.0 - bucket.tokens) / rate).ceil();
            // Finite and at least 1: `rate` > 0 and the deficit is <= 1.
            return Err(if wait.is_finite() && wait >= 1.0 {
                wait as u64
            } else {
                1
            });
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_refusals_then_refill_at_the_rate() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("alice", t0, 1.0, 3.0), Ok(()));
        }
        assert_eq!(limiter.take("alice", t0, 1.0, 3.0), Err(1));
        // Another person has their own bucket.
        assert_eq!(limiter.take("bob", t0, 1.0, 3.0), Ok(()));
        let later = t0 + Duration::from_secs(1);
        assert_eq!(limiter.take("alice", later, 1.0, 3.0), Ok(()));
        assert_eq!(limiter.take("alice", later, 1.0, 3.0), Err(1));
    }

    #[test]
    fn retry_after_is_the_time_to_the_next_token() {
        let mut limiter = RateLimiter::default();
        let t0 = Instant::now();
        assert_eq!(limiter.take("a", t0, 0.25, 1.0), Ok(()));
        assert_eq!(limiter.take("a", t0, 0.25, 1.0), Err(4));
    }

    #[test]
    fn the_map_never_grows_past_its_cap_and_full_buckets_make_room() {
        let mut limiter = RateLimiter::with_capacity(4);
        let t0 = Instant::now();
        for who in ["a", "b", "c", "d"] {
            assert_eq!(limiter.take(who, t0, 1.0, 2.0), Ok(()));
        }
        // Every bucket is in use: a fifth person is refused, not stored.
        assert_eq!(limiter.take("e", t0, 1.0, 2.0), Err(1));
        assert_eq!(limiter.len(), 4);
        // Those already held still get their tokens.
        assert_eq!(limiter.take("a", t0, 1.0, 2.0), Ok(()));
        // Once buckets have refilled, they are dropped to make room.
        let later = t0 + Duration::from_secs(5);
        assert_eq!(limiter.take("e", later, 1.0, 2.0), Ok(()));
        assert!(limiter.len() <= 4);
        for i in 0..1000 {
            let _ = limiter.take(&format!("p{i}"), later, 1.0, 2.0);
            assert!(limiter.len() <= 4);
        }
    }
}
