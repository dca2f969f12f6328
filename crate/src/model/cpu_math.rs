//! The exponentials of the CPU backend's attention softmax and QuickGELU, vectorised.
//!
//! burn-flex computes each `exp` with a scalar libm call (a software routine in wasm), and those
//! exponentials were a quarter of an image encode natively (softmax over 12 × 12 heads × 485²
//! scores, QuickGELU over 12 × 485 × 3072 activations) and a third of a decode. Here `exp` is a
//! branch-free polynomial that the compiler turns into AVX-512 / AVX2 / simd128 lanes.

/// e^x for f32, within 2 ulp of the correctly rounded value over the range where softmax and
/// QuickGELU use it. Below −87.3 it returns about 1.2e-38 rather than a subnormal or 0 (which
/// neither caller can tell apart from 0 once added to a sum of at least 1); above 88.3 it returns
/// about 2.4e38 rather than infinity. NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // x = n·ln2 + r with |r| ≤ ln2/2, so e^x = 2^n · e^r.
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln2 in two parts (Cody–Waite), so that n·LN2_HI is exact for the n this range allows.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2^23 rounds to an integer in the low mantissa bits (round to nearest even).
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-87.336_55, 88.376_26);
    let shifted = x * LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Cephes' expf polynomial for e^r − 1 − r on [−ln2/2, ln2/2].
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let e_r = p * r * r + r + 1.0;
    // 2^n from n's bits in `shifted`: n + 127 in the exponent field.
    let n_bits = shifted.to_bits().wrapping_sub(ROUNDER.to_bits());
    let two_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
    e_r * two_n
}

/// Lanes the reductions below keep, so that they vectorise without reassociating floats.
const LANES: usize = 16;

/// The largest value (NaNs ignored, as `f32::max` does). A comparison rather than `f32::max`,
/// which wasm lowers to a call to libm's `fmaxf` per element.
#[inline(always)]
fn max(values: &[f32]) -> f32 {
    let larger = |m: f32, v: f32| if v > m { v } else { m };
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = larger(*lane, v);
        }
    }
    rest.iter().chain(&lanes).fold(f32::NEG_INFINITY, |m, &v| larger(m, v))
}

/// Replaces each value by e^(scale·(v − max)) and returns their sum.
#[inline(always)]
fn exp_shifted(values: &mut [f32], scale: f32, max: f32) -> f32 {
    let offset = scale * max;
    let mut lanes = [0.0f32; LANES];
    let mut chunks = values.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *v = exp(*v * scale - offset);
            *lane += *v;
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for v in chunks.into_remainder() {
        *v = exp(*v * scale - offset);
        sum += *v;
    }
    sum
}

/// A loop over one piece of a tensor, compiled by [`dispatch`] for each vector width (`run` is
/// inlined into a function with that width's target features).
trait Kernel {
    fn run(self);
}

/// Softmax of `scale · row` in place, over the first `visible` entries; the rest (the future
/// tokens a causal mask hides) become 0.
struct SoftmaxRow<'a> {
    row: &'a mut [f32],
    scale: f32,
    visible: usize,
}

impl Kernel for SoftmaxRow<'_> {
    #[inline(always)]
    fn run(self) {
        let (seen, hidden) = self.row.split_at_mut(self.visible);
        hidden.fill(0.0);
        // With a positive scale, max(scale·v) = scale·max(v).
        let sum = exp_shifted(seen, self.scale, max(seen));
        let inverse = 1.0 / sum;
        for v in seen {
            *v *= inverse;
        }
    }
}

struct QuickGelu<'a>(&'a mut [f32]);

impl Kernel for QuickGelu<'_> {
    #[inline(always)]
    fn run(self) {
        for v in self.0 {
            *v /= 1.0 + exp(-1.702 * *v);
        }
    }
}

/// Attention weights in place: `scores` holds rows of `keys` scores (query `i` of each head is
/// row `i % queries`); each row becomes softmax(scale · row), with query `i` seeing keys `0..=i`
/// only when `causal`. `scale` must be positive (1/√head_dim).
pub fn softmax_rows(scores: &mut [f32], keys: usize, queries: usize, scale: f32, causal: bool) {
    debug_assert!(scale > 0.0 && keys > 0 && scores.len() % keys == 0);
    for_each_piece(scores, keys, |index, row| {
        let visible = if causal { (index % queries + 1).min(keys) } else { keys };
        dispatch(SoftmaxRow { row, scale, visible });
    });
}

/// QuickGELU in place: x · σ(1.702 x) = x / (1 + e^(−1.702 x)).
pub fn quick_gelu(values: &mut [f32]) {
    for_each_piece(values, 4096, |_, piece| dispatch(QuickGelu(piece)));
}

/// Output columns one [`LinearColumns`] computes: 1 KB of each weight row, so the weight is read
/// in runs of 16 cache lines (which the prefetcher follows) and four rows of it stay in L1.
const LINEAR_COLUMNS: usize = 256;

/// Columns `first..first + width` of `x · weight` for every row of `x`, added to `block`
/// (rows × width, row-major). Four weight rows at a time are read once from memory and used for
/// every row of `x` from L1, so the weight streams through once, without gemm's packing copy.
struct LinearColumns<'a> {
    x: &'a [f32],
    inputs: usize,
    weight: &'a [f32],
    outputs: usize,
    first: usize,
    block: &'a mut [f32],
}

impl Kernel for LinearColumns<'_> {
    #[inline(always)]
    fn run(self) {
        let width = self.block.len() / (self.x.len() / self.inputs);
        let weight_row = |k: usize| &self.weight[k * self.outputs + self.first..][..width];
        let quads = self.inputs / 4 * 4;
        for k in (0..quads).step_by(4) {
            let (w0, w1, w2, w3) = (weight_row(k), weight_row(k + 1), weight_row(k + 2), weight_row(k + 3));
            for (x, sums) in self.x.chunks_exact(self.inputs).zip(self.block.chunks_exact_mut(width)) {
                let [x0, x1, x2, x3] = [x[k], x[k + 1], x[k + 2], x[k + 3]];
                for ((((sum, a), b), c), d) in sums.iter_mut().zip(w0).zip(w1).zip(w2).zip(w3) {
                    *sum += x0 * a + x1 * b + x2 * c + x3 * d;
                }
            }
        }
        for k in quads..self.inputs {
            let w = weight_row(k);
            for (x, sums) in self.x.chunks_exact(self.inputs).zip(self.block.chunks_exact_mut(width)) {
                for (sum, a) in sums.iter_mut().zip(w) {
                    *sum += x[k] * a;
                }
            }
        }
    }
}

/// `x · weight` for a few rows of `x` ([rows, inputs], row-major) and `weight` [inputs,
/// outputs], row-major. For the text tower's handful of tokens a product is bound by reading
/// the weight, which gemm first packs (a copy as large as the weight) and then multiplies a
/// sliver at a time; here each weight element is read once, by column blocks spread over the cores.
pub fn linear_few_rows(x: &[f32], inputs: usize, weight: &[f32], outputs: usize) -> Vec<f32> {
    assert!(inputs > 0 && x.len() % inputs == 0 && weight.len() == inputs * outputs);
    let rows = x.len() / inputs;
    if rows == 0 {
        return Vec::new();
    }
    let block = |first: usize| {
        let width = LINEAR_COLUMNS.min(outputs - first);
        let mut block = vec![0.0f32; rows * width];
        dispatch(LinearColumns { x, inputs, weight, outputs, first, block: &mut block });
        block
    };
    let firsts = (0..outputs).step_by(LINEAR_COLUMNS);
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    let blocks: Vec<Vec<f32>> = {
        use rayon::prelude::*;
        firsts.collect::<Vec<_>>().into_par_iter().map(block).collect()
    };
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    let blocks: Vec<Vec<f32>> = firsts.map(block).collect();
    let mut out = vec![0.0f32; rows * outputs];
    for (index, block) in blocks.iter().enumerate() {
        let first = index * LINEAR_COLUMNS;
        let width = block.len() / rows;
        for (out_row, block_row) in out.chunks_exact_mut(outputs).zip(block.chunks_exact(width)) {
            out_row[first..first + width].copy_from_slice(block_row);
        }
    }
    out
}

/// Runs `f(index, piece)` on the `len`-long pieces of `values` (the last may be shorter), on
/// every core where there are threads.
#[inline(always)]
fn for_each_piece(values: &mut [f32], len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        // Small jobs stay on this thread: waking the pool costs more than they do.
        if values.len() >= 1 << 16 {
            values.par_chunks_mut(len).enumerate().for_each(|(index, piece)| f(index, piece));
            return;
        }
    }
    values.chunks_mut(len).enumerate().for_each(|(index, piece)| f(index, piece));
}

/// Runs `kernel` compiled for the widest vectors this CPU has (x86 builds target the baseline,
/// so without this the loops above would get 4 lanes where AVX-512 has 16).
#[inline(always)]
fn dispatch(kernel: impl Kernel) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(kernel: impl Kernel) {
            kernel.run()
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(kernel: impl Kernel) {
            kernel.run()
        }
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the features these functions are compiled for.
            return unsafe { avx512(kernel) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: as above.
            return unsafe { avx2(kernel) };
        }
    }
    kernel.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite f32 of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulp_of_std() {
        let mut worst = 0;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp() as f32;
            worst = worst.max(ulps(exp(x), want));
            x += 0.000_37;
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(1.0), std::f32::consts::E);
    }

    #[test]
    fn exp_saturates_and_keeps_nan() {
        assert!(exp(-1000.0) < 1.2e-38 && exp(-1000.0) > 0.0);
        assert!(exp(f32::NEG_INFINITY) < 1.2e-38);
        assert!(exp(1000.0).is_finite() && exp(1000.0) > 1e38);
        assert!(exp(f32::NAN).is_nan());
    }

    fn reference_softmax(row: &[f32], scale: f32, visible: usize) -> Vec<f64> {
        let max = row[..visible].iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64 * scale as f64));
        let e: Vec<f64> = row.iter().enumerate().map(|(i, &v)| if i < visible { (v as f64 * scale as f64 - max).exp() } else { 0.0 }).collect();
        let sum: f64 = e.iter().sum();
        e.iter().map(|v| v / sum).collect()
    }

    #[test]
    fn softmax_rows_match_a_double_precision_softmax() {
        // Odd lengths exercise the remainder loops; causal rows see a growing prefix.
        for (keys, queries, causal) in [(485, 485, false), (7, 7, true), (37, 5, false), (1, 1, true), (20, 3, true)] {
            let heads = 3;
            let scale = 0.125;
            let scores: Vec<f32> = (0..heads * queries * keys).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 9.0).collect();
            let mut out = scores.clone();
            softmax_rows(&mut out, keys, queries, scale, causal);
            for (index, (row, got)) in scores.chunks(keys).zip(out.chunks(keys)).enumerate() {
                let visible = if causal { (index % queries + 1).min(keys) } else { keys };
                for (g, w) in got.iter().zip(reference_softmax(row, scale, visible)) {
                    assert!((*g as f64 - w).abs() <= 1e-6 * w.max(1e-3), "{keys}×{queries} causal {causal}: {g} vs {w}");
                }
            }
        }
    }

    #[test]
    fn quick_gelu_matches_its_definition() {
        // Long enough to take the threaded path natively.
        let mut values: Vec<f32> = (0..100_003).map(|i| (i as f32 - 50_000.0) / 2_000.0).collect();
        let inputs = values.clone();
        quick_gelu(&mut values);
        for (x, got) in inputs.iter().zip(&values) {
            let want = *x as f64 / (1.0 + (-1.702 * *x as f64).exp());
            assert!((*got as f64 - want).abs() <= 1e-6 * want.abs().max(1e-3), "{x}: {got} vs {want}");
        }
    }
}
