//! Timing (plain `Instant` loops, medians of passes), heap counting and
//! resident-memory readings.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The global allocator: the system allocator, counting live and peak heap
/// bytes once `start_counting` was called. Only the memory children call
/// it; in the timing process the cost is one relaxed load per call.
pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by as isize, Relaxed) + by as isize;
    PEAK.fetch_max(now, Relaxed);
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by as isize, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if ON.load(Relaxed) && !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if ON.load(Relaxed) && !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if ON.load(Relaxed) {
            shrank(layout.size());
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if ON.load(Relaxed) && !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// Counts every allocation from now on. Call first thing in a process
/// (frees of blocks allocated before would be subtracted without their
/// allocation having been added).
pub fn start_counting() {
    ON.store(true, Relaxed);
}

/// Live heap bytes; resets the peak to it.
pub fn heap_mark() -> isize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    live
}

pub fn heap_peak() -> isize {
    PEAK.load(Relaxed)
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets the kernel's resident-set high-water mark to the current RSS
/// (`echo 5 > /proc/self/clear_refs`). False where not permitted.
pub fn reset_rss_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size (VmHWM), bytes.
pub fn rss_peak() -> u64 {
    status_kib("VmHWM:").unwrap_or(0) * 1024
}

/// Median of a list of figures.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Timing settings.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Passes per figure; the median is reported.
    pub passes: usize,
    /// Each pass runs the sample repeatedly until at least this long.
    pub min_pass: Duration,
}

/// One figure: per-decision nanoseconds, the median of `plan.passes`
/// passes, and the fastest and slowest pass.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Times `run` over a batch of `n` decisions. `prepare` builds the batch
/// outside the timed section (for engines that consume their input by
/// value, it clones the inputs); `run` makes the `n` decisions.
pub fn time<B>(
    plan: Plan,
    n: usize,
    mut prepare: impl FnMut() -> B,
    mut run: impl FnMut(B),
) -> Figure {
    // One untimed warm-up batch.
    run(prepare());
    let mut per_pass = Vec::with_capacity(plan.passes);
    for _ in 0..plan.passes {
        let mut spent = Duration::ZERO;
        let mut decisions = 0usize;
        while spent < plan.min_pass {
            let batch = prepare();
            let t = Instant::now();
            run(batch);
            spent += t.elapsed();
            decisions += n;
        }
        per_pass.push(spent.as_nanos() as f64 / decisions as f64);
    }
    let min = per_pass.iter().copied().fold(f64::INFINITY, f64::min);
    let max = per_pass.iter().copied().fold(0.0, f64::max);
    Figure {
        median: median(per_pass),
        min,
        max,
    }
}

/// Median wall time of `runs` calls of `f` (each call's result dropped
/// outside the timed section).
pub fn time_once<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut xs = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let out = f();
        xs.push(t.elapsed().as_secs_f64());
        drop(out);
    }
    Duration::from_secs_f64(median(xs))
}
