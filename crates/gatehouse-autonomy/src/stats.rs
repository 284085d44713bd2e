//! Binomial confidence bounds and order statistics.
//!
//! Both bounds are two-sided intervals at `confidence` (0.95 leaves 2.5% in
//! each tail), the convention of the published tables the tests check
//! against: 0 rejections in 100 cases at 95% gives a Clopper-Pearson upper
//! bound of 0.0362 and a Wilson upper bound of 0.0370.
//!
//! Clopper-Pearson is computed exactly, by bisection on the binomial CDF
//! summed in log space (no gamma function: the log binomial coefficient is
//! built term by term), so it holds for any `n` a `u64` counts; the cost is
//! O(x) per CDF evaluation and 64 evaluations per bound.

/// Which upper bound decides a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoundMethod {
    /// The Wilson score interval (an approximation; close to exact above a
    /// few dozen cases, slightly tighter than exact at zero events).
    Wilson,
    /// The Clopper-Pearson interval (exact: it never undercovers).
    ClopperPearson,
}

impl BoundMethod {
    /// The name as the command line and the JSON write it.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundMethod::Wilson => "wilson",
            BoundMethod::ClopperPearson => "clopper-pearson",
        }
    }
}

/// Bisection steps: the interval [0, 1] halves 64 times, far below any
/// printed digit.
const BISECTION_STEPS: u32 = 64;

/// The standard normal quantile (Acklam's rational approximation, relative
/// error below 1.2e-9), for `p` strictly between 0 and 1; 0 outside.
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return 0.0;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The Wilson score interval `(lower, upper)` for `x` events in `n`
/// trials at two-sided `confidence`; `(0, 1)` when `n` is 0.
pub fn wilson(x: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let x = x.min(n) as f64;
    let n = n as f64;
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let p = x / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z2 / n;
    let lower = ((centre - spread) / denominator).clamp(0.0, 1.0);
    let upper = ((centre + spread) / denominator).clamp(0.0, 1.0);
    // At the edges the formula is exact only up to rounding.
    (
        if x == 0.0 { 0.0 } else { lower },
        if x == n { 1.0 } else { upper },
    )
}

/// P(X <= x) for X ~ Binomial(n, p), summed in log space.
fn binomial_cdf(x: u64, n: u64, p: f64) -> f64 {
    if p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return if x >= n { 1.0 } else { 0.0 };
    }
    if x >= n {
        return 1.0;
    }
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    // log C(n, k), built up from log C(n, 0) = 0.
    let mut log_choose = 0.0_f64;
    let mut max = f64::NEG_INFINITY;
    // A running log-sum-exp: `sum_scaled` holds sum(exp(t - max)).
    let mut sum_scaled = 0.0_f64;
    for k in 0..=x {
        if k > 0 {
            log_choose += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        let t = log_choose + k as f64 * lp + (n - k) as f64 * lq;
        if t > max {
            sum_scaled = sum_scaled * (max - t).exp() + 1.0;
            max = t;
        } else {
            sum_scaled += (t - max).exp();
        }
    }
    (max + sum_scaled.ln()).exp().clamp(0.0, 1.0)
}

/// The Clopper-Pearson interval `(lower, upper)` for `x` events in `n`
/// trials at two-sided `confidence`; `(0, 1)` when `n` is 0.
pub fn clopper_pearson(x: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let x = x.min(n);
    let tail = (1.0 - confidence) / 2.0;
    // Upper: the p with P(X <= x) = tail (the CDF falls as p grows).
    let upper = if x == n {
        1.0
    } else {
        bisect(|p| binomial_cdf(x, n, p) > tail)
    };
    // Lower: the p with P(X >= x) = tail, i.e. P(X <= x - 1) = 1 - tail.
    let lower = if x == 0 {
        0.0
    } else {
        bisect(|p| binomial_cdf(x - 1, n, p) > 1.0 - tail)
    };
    (lower, upper)
}

/// The boundary in [0, 1] where `below` turns from true to false.
fn bisect(below: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..BISECTION_STEPS {
        let mid = (lo + hi) / 2.0;
        if below(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The interval by `method`.
pub fn interval(method: BoundMethod, x: u64, n: u64, confidence: f64) -> (f64, f64) {
    match method {
        BoundMethod::Wilson => wilson(x, n, confidence),
        BoundMethod::ClopperPearson => clopper_pearson(x, n, confidence),
    }
}

/// The nearest-rank percentile of sorted `values`: the value at rank
/// ceil(q * len) (1-based), so the median of 1, 2, 3, 4 is 2 and p95 of
/// 100 values is the 95th. `None` when empty.
pub fn nearest_rank(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn published_values() {
        // 0 of 100 at 95%: the "rule of three" table (Hanley & Lippman-Hand,
        // JAMA 1983) gives the exact 1 - 0.025^(1/100) = 0.0362; Wilson's
        // z^2 / (n + z^2) = 3.8415 / 103.8415 = 0.0370.
        let (_, cp) = clopper_pearson(0, 100, 0.95);
        assert!(close(cp, 1.0 - 0.025_f64.powf(0.01), 1e-9), "{cp}");
        assert!(close(cp, 0.0362, 5e-5), "{cp}");
        let (_, w) = wilson(0, 100, 0.95);
        assert!(close(w, 0.0370, 5e-5), "{w}");
        // Newcombe (Statistics in Medicine 1998), Table I, example 81/263:
        // exact (method 5) 0.2527-0.3676, Wilson (method 3) 0.2553-0.3662.
        let (lo, hi) = clopper_pearson(81, 263, 0.95);
        assert!(
            close(lo, 0.2527, 5e-4) && close(hi, 0.3676, 5e-4),
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(81, 263, 0.95);
        assert!(
            close(lo, 0.2553, 5e-4) && close(hi, 0.3662, 5e-4),
            "{lo} {hi}"
        );
        // Newcombe, example 15/148: exact 0.0578-0.1617, Wilson 0.0624-0.1605.
        let (lo, hi) = clopper_pearson(15, 148, 0.95);
        assert!(
            close(lo, 0.0578, 5e-4) && close(hi, 0.1617, 5e-4),
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(15, 148, 0.95);
        assert!(
            close(lo, 0.0624, 5e-4) && close(hi, 0.1605, 5e-4),
            "{lo} {hi}"
        );
        // Newcombe, example 0/20: exact 0-0.1684, Wilson 0-0.1611.
        assert!(close(clopper_pearson(0, 20, 0.95).1, 0.1684, 5e-4));
        assert!(close(wilson(0, 20, 0.95).1, 0.1611, 5e-4));
        // Newcombe, example 1/29: exact 0.0009-0.1776, Wilson 0.0061-0.1718.
        let (lo, hi) = clopper_pearson(1, 29, 0.95);
        assert!(
            close(lo, 0.0009, 5e-4) && close(hi, 0.1776, 5e-4),
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(1, 29, 0.95);
        assert!(
            close(lo, 0.0061, 5e-4) && close(hi, 0.1718, 5e-4),
            "{lo} {hi}"
        );
    }

    #[test]
    fn edges_and_large_counts() {
        assert_eq!(clopper_pearson(0, 0, 0.95), (0.0, 1.0));
        assert_eq!(wilson(3, 0, 0.95), (0.0, 1.0));
        assert_eq!(clopper_pearson(5, 5, 0.95).1, 1.0);
        // More events than trials is clamped, never a panic.
        assert_eq!(clopper_pearson(9, 5, 0.95).1, 1.0);
        // A million cases and ten thousand events: finite, ordered, around 1%.
        let (lo, hi) = clopper_pearson(10_000, 1_000_000, 0.95);
        assert!(lo < 0.01 && hi > 0.01 && hi < 0.0103, "{lo} {hi}");
        let (lo, hi) = wilson(10_000, 1_000_000, 0.95);
        assert!(lo < 0.01 && hi > 0.01 && hi < 0.0103, "{lo} {hi}");
    }

    #[test]
    fn quantile() {
        assert!(close(normal_quantile(0.975), 1.959_964, 1e-6));
        assert!(close(normal_quantile(0.995), 2.575_829, 1e-6));
        assert_eq!(normal_quantile(1.0), 0.0);
        assert_eq!(normal_quantile(f64::NAN), 0.0);
    }

    #[test]
    fn nearest_rank_definition() {
        assert_eq!(nearest_rank(&[], 0.5), None);
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(nearest_rank(&[7], 0.95), Some(7));
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 0.95), Some(95));
        assert_eq!(nearest_rank(&hundred, 0.5), Some(50));
    }
}
