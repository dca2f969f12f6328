//! The operations the CPU backend runs better with kernels of its own: attention and QuickGELU,
//! whose cost there is mostly `exp`, and a linear layer over a few rows (the text tower's tokens),
//! which gemm runs far below the speed of reading the weight. On the CPU backend they run through
//! [`super::cpu_math`]'s kernels; on every other backend through burn's own operations (the
//! trait's default bodies).
//!
//! One more for the browser's WebGPU where there is no GPU: on Chromium's fallback adapter,
//! SwiftShader, the model's matmuls and attention run through [`super::lane_matmul`]'s kernel,
//! which keeps its blocks in each lane's registers, where burn's default matmuls stage tiles
//! through workgroup memory with a barrier at every step (4.4 s against 0.2 s for a
//! [485, 384]·[384, 1536] product there). Not natively: Mesa's lavapipe, also a CPU, handles
//! barriers well (there cubek's register-blocked `CpuGemm` routine encoded 5× slower than burn's
//! default).

use burn::backend::tensor::FloatTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::{backend_extension, Backend, Flex, TensorMetadata};
use burn::tensor::ops::AttentionModuleOptions;
use burn::nn::Linear;
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, DType, Device, Slice, Tensor};
#[cfg(feature = "gpu")]
use burn_cubecl::tensor::CubeTensor;
use burn_flex::FlexTensor;

use super::cpu_math;

#[backend_extension(Flex, Cube: cfg(feature = "gpu"), Fusion: cfg(feature = "gpu"))]
pub trait ModelOps: Backend {
    /// softmax(q·kᵀ/√head_dim)·v for q, k, v of shape [batch, heads, tokens, head_dim]; with
    /// `causal`, query i sees keys 0..=i only.
    #[fusion(default)]
    fn self_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        causal: bool,
    ) -> FloatTensor<Self> {
        burn_attention::<Self>(q, k, v, causal)
    }

    /// CLIP's approximation of GELU: x · σ(1.702 x).
    #[fusion(default)]
    fn quick_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        burn_quick_gelu::<Self>(x)
    }

    /// `x · weight` for x [..., inputs], weight [inputs, outputs] (burn's Linear without bias).
    #[fusion(default)]
    fn linear(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::linear(x, weight, None)
    }

    /// `lhs · rhs` for lhs [..., m, k] and rhs [..., k, n] with the same leading axes, through a
    /// matmul without workgroup memory ([`super::lane_matmul`] on the Cube backend, burn's
    /// matmul elsewhere).
    #[fusion(dtype = lhs, shape = matmul_shape(lhs, rhs))]
    fn lane_blocked_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(lhs, rhs)
    }
}

/// The shape of `lhs · rhs`: lhs's, with rhs's last axis (for the fusion backend, with `gpu`).
#[cfg(feature = "gpu")]
fn matmul_shape(lhs: &burn::tensor::Shape, rhs: &burn::tensor::Shape) -> burn::tensor::Shape {
    let mut out = lhs.clone();
    let last = out.num_dims() - 1;
    out[last] = rhs[rhs.num_dims() - 1];
    out
}

/// burn's fused attention (scale 1/√head_dim, as in CLIP).
fn burn_attention<B: Backend>(q: FloatTensor<B>, k: FloatTensor<B>, v: FloatTensor<B>, causal: bool) -> FloatTensor<B> {
    let options = AttentionModuleOptions { scale: None, softcap: None, is_causal: causal };
    B::attention(q, k, v, None, None, options)
}

/// QuickGELU from burn's operations.
fn burn_quick_gelu<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let scaled = B::float_mul_scalar(x.clone(), 1.702f32.into());
    B::float_mul(x, B::sigmoid(scaled))
}

/// Rows up to which a linear layer streams its weight through [`cpu_math::linear_few_rows`]
/// rather than gemm: one or two prompts' tokens. Natively (full-size text tower) it embeds a
/// 7-token prompt in 16–20 ms where gemm took 24–26 in the same sittings; at 40 rows (8 prompts)
/// gemm is ahead, 38–40 ms against 44–45.
const FEW_ROWS: usize = 16;

/// Attention scores computed at once, at most (f32: 1 MB, within a core's L2).
const SCORES_IN_CACHE: usize = 1 << 18;

/// `tensor` as a row-major buffer of its own (copied only when it is a view or shared).
fn owned_f32(tensor: FlexTensor) -> FlexTensor {
    let whole = tensor.is_contiguous()
        && tensor.layout().start_offset() == 0
        && tensor.bytes().len() == tensor.layout().num_elements() * size_of::<f32>();
    if whole { tensor } else { tensor.to_contiguous() }
}

impl ModelOps for Flex {
    fn self_attention(q: FlexTensor, k: FlexTensor, v: FlexTensor, causal: bool) -> FlexTensor {
        if q.dtype() != DType::F32 {
            return burn_attention::<Self>(q, k, v, causal);
        }
        let [batch, heads, queries, head_dim] = q.shape().dims::<4>();
        let keys = k.shape().dims::<4>()[2];
        let value_dim = v.shape().dims::<4>()[3];
        let scale = 1.0 / (head_dim as f32).sqrt();
        let flat = |t: FlexTensor, tokens: usize, width: usize| Self::float_reshape(t, [batch * heads, tokens, width].into());
        let (q, k, v) = (flat(q, queries, head_dim), flat(k, keys, head_dim), flat(v, keys, value_dim));
        // Two matmuls around a softmax for a group of heads at a time, sized so that the
        // group's scores (1 MB) stay in cache: flex's own attention does the same per head,
        // with a scalar `exp`. One group for the text tower's few tokens; a head per group for
        // the 485 of a 352-pixel image.
        let group = (SCORES_IN_CACHE / (queries * keys)).clamp(1, batch * heads);
        let contexts: Vec<FlexTensor> = (0..batch * heads)
            .step_by(group)
            .map(|start| {
                let len = group.min(batch * heads - start);
                let part = |t: &FlexTensor| Self::float_slice(t.clone(), &[Slice::from(start..start + len)]);
                let scores = Self::float_matmul(part(&q), Self::float_swap_dims(part(&k), 1, 2));
                let mut weights = owned_f32(scores);
                cpu_math::softmax_rows(weights.storage_mut::<f32>(), keys, queries, scale, causal);
                Self::float_matmul(weights, part(&v))
            })
            .collect();
        let context = if contexts.len() == 1 { contexts.into_iter().next().unwrap() } else { Self::float_cat(contexts, 0) };
        Self::float_reshape(context, [batch, heads, queries, value_dim].into())
    }

    fn quick_gelu(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return burn_quick_gelu::<Self>(x);
        }
        let mut x = owned_f32(x);
        cpu_math::quick_gelu(x.storage_mut::<f32>());
        x
    }

    fn linear(x: FlexTensor, weight: FlexTensor) -> FlexTensor {
        let dims = x.shape().to_vec();
        let [inputs, outputs] = weight.shape().dims::<2>();
        let rows = dims.iter().product::<usize>() / inputs;
        // `as_slice` is None unless the weight is f32 and contiguous.
        if rows == 0 || rows > FEW_ROWS || x.dtype() != DType::F32 || weight.as_slice::<f32>().is_none() {
            return <Self as ModuleOps<Self>>::linear(x, weight, None);
        }
        let x = owned_f32(x);
        let out = cpu_math::linear_few_rows(x.storage::<f32>(), inputs, weight.as_slice::<f32>().expect("checked"), outputs);
        let mut out_dims = dims;
        *out_dims.last_mut().expect("x has a last axis") = outputs;
        FlexTensor::from_data(burn::tensor::TensorData::new(out, out_dims))
    }
}

#[cfg(feature = "gpu")]
impl ModelOps for burn_cubecl::CubeBackend {
    fn lane_blocked_matmul(lhs: CubeTensor, rhs: CubeTensor) -> CubeTensor {
        super::lane_matmul::lane_blocked_matmul(lhs, rhs)
    }
}

/// Whether `device` is the browser's fallback WebGPU adapter, a CPU running the shaders (cubecl
/// names no card behind it). There the model's matmuls take [`lane_blocked_matmul`].
#[cfg(feature = "gpu")]
fn browser_fallback_adapter(device: &Device) -> bool {
    cfg!(target_family = "wasm") && device.identity().is_some_and(|identity| identity.physical.is_none())
}

/// Without the `gpu` feature there is no WebGPU.
#[cfg(not(feature = "gpu"))]
fn browser_fallback_adapter(_device: &Device) -> bool {
    false
}

/// [`ModelOps::lane_blocked_matmul`] on tensors.
fn lane_blocked_matmul<const D: usize>(lhs: Tensor<D>, rhs: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<burn::backend::Dispatch as ModelOps>::lane_blocked_matmul(
        lhs.into_dispatch(),
        rhs.into_dispatch(),
    ))
}

/// `x · weight` for x [..., inputs], weight [inputs, outputs], as one [`lane_blocked_matmul`].
fn lane_blocked_product<const D: usize>(x: Tensor<D>, weight: Tensor<2>) -> Tensor<D> {
    let mut dims = x.dims();
    let [inputs, outputs] = weight.dims();
    let rows = dims.iter().product::<usize>() / inputs;
    dims[D - 1] = outputs;
    lane_blocked_matmul(x.reshape([rows, inputs]), weight).reshape(dims)
}

/// softmax(q·kᵀ/√head_dim)·v with [`lane_blocked_matmul`]s around burn's softmax; with
/// `causal`, query i sees keys 0..=i only.
fn lane_blocked_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, causal: bool) -> Tensor<4> {
    let [batch, heads, queries, head_dim] = q.dims();
    let keys = k.dims()[2];
    let mut scores = lane_blocked_matmul(q, k.swap_dims(2, 3)) / (head_dim as f64).sqrt();
    if causal {
        let later = Tensor::<2, Bool>::tril_mask([queries, keys], 0, &scores.device());
        scores = scores.mask_fill(later.unsqueeze::<4>().expand([batch, heads, queries, keys]), f32::NEG_INFINITY);
    }
    lane_blocked_matmul(softmax(scores, 3), v)
}

/// [`ModelOps::self_attention`] on tensors ([`lane_blocked_attention`] on the browser's
/// fallback adapter).
pub fn self_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, causal: bool) -> Tensor<4> {
    if browser_fallback_adapter(&q.device()) {
        return lane_blocked_attention(q, k, v, causal);
    }
    Tensor::from_dispatch(<burn::backend::Dispatch as ModelOps>::self_attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        causal,
    ))
}

/// [`ModelOps::quick_gelu`] on tensors.
pub fn quick_gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<burn::backend::Dispatch as ModelOps>::quick_gelu(x.into_dispatch()))
}

/// A linear layer through [`ModelOps::linear`] (through [`lane_blocked_matmul`] on the
/// browser's fallback adapter): what `layer.forward(x)` computes.
pub fn linear<const D: usize>(x: Tensor<D>, layer: &Linear) -> Tensor<D> {
    let product = if browser_fallback_adapter(&x.device()) {
        lane_blocked_product(x, layer.weight.val())
    } else {
        Tensor::<D>::from_dispatch(<burn::backend::Dispatch as ModelOps>::linear(
            x.into_dispatch(),
            layer.weight.val().into_dispatch(),
        ))
    };
    match &layer.bias {
        Some(bias) => product + bias.val().unsqueeze(),
        None => product,
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::module::attention;
    use burn::tensor::ops::AttentionModuleOptions;
    use burn::tensor::{Device, Distribution, Tensor};

    /// `attend(q, k, v, causal)` against burn's attention, for random q, k, v of each shape
    /// [batch, heads, tokens, head_dim], causal or not.
    fn assert_attention_matches_burn(
        device: &Device,
        shapes: impl IntoIterator<Item = [usize; 4]>,
        attend: impl Fn(Tensor<4>, Tensor<4>, Tensor<4>, bool) -> Tensor<4>,
    ) {
        for shape in shapes {
            for causal in [false, true] {
                let random = || Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), device);
                let (q, k, v) = (random(), random(), random());
                let options = AttentionModuleOptions { scale: None, softcap: None, is_causal: causal };
                let expected = attention(q.clone(), k.clone(), v.clone(), None, None, options);
                let diff: f32 = (attend(q, k, v, causal) - expected).abs().max().into_scalar();
                assert!(diff < 1e-5, "{shape:?}, causal {causal}: max |diff| {diff}");
            }
        }
    }

    /// The CPU kernels against burn's own attention and QuickGELU, for one group of heads (few
    /// tokens) and for a head at a time (scores larger than the cache budget), causal or not.
    #[test]
    fn cpu_kernels_match_burn() {
        let device = Device::flex();
        assert_attention_matches_burn(&device, [[2, 3, 7, 8], [2, 3, 600, 8]], super::self_attention);
        let x = Tensor::<2>::random([300, 500], Distribution::Normal(0.0, 3.0), &device);
        let expected = x.clone() * burn::tensor::activation::sigmoid(x.clone() * 1.702);
        let diff: f32 = (super::quick_gelu(x) - expected).abs().max().into_scalar();
        assert!(diff < 1e-5, "QuickGELU: max |diff| {diff}");
    }

    /// The few-rows linear kernel against burn's Linear: widths that are not a multiple of the
    /// column block or of four inputs, with and without bias, batched, and past the row limit
    /// (gemm's path).
    #[test]
    fn linear_matches_burn() {
        let device = Device::flex();
        for (batch, tokens, inputs, outputs, bias) in [(1, 7, 512, 2048, true), (2, 3, 37, 300, false), (1, 1, 5, 1, true), (3, 9, 64, 70, true)] {
            let layer = burn::nn::LinearConfig::new(inputs, outputs).with_bias(bias).init(&device);
            let x = Tensor::<3>::random([batch, tokens, inputs], Distribution::Normal(0.0, 1.0), &device);
            let expected = layer.forward(x.clone());
            let actual = super::linear(x, &layer);
            assert_eq!(actual.dims(), [batch, tokens, outputs]);
            let diff: f32 = (actual - expected).abs().max().into_scalar();
            assert!(diff < 1e-5, "{batch}×{tokens}×{inputs}→{outputs}: max |diff| {diff}");
        }
    }

    /// The browser fallback adapter's matmul path (the lane-blocked kernel) against burn's own
    /// linear and attention, on wgpu (lavapipe here; natively the model does not take it).
    #[cfg(feature = "gpu")]
    #[test]
    fn lane_blocked_ops_match_burn() {
        let device = Device::wgpu_options().init().expect("wgpu needs a GPU or a Vulkan driver");
        for (batch, tokens, inputs, outputs) in [(1, 485, 384, 1536), (2, 7, 37, 300), (3, 11, 64, 130), (1, 1, 5, 3)] {
            let weight = Tensor::<2>::random([inputs, outputs], Distribution::Normal(0.0, 1.0), &device);
            let x = Tensor::<3>::random([batch, tokens, inputs], Distribution::Normal(0.0, 1.0), &device);
            let expected = x.clone().matmul(weight.clone().unsqueeze());
            let actual = super::lane_blocked_product(x, weight);
            assert_eq!(actual.dims(), [batch, tokens, outputs]);
            let diff: f32 = (actual - expected).abs().max().into_scalar();
            assert!(diff < 1e-3, "{batch}×{tokens}×{inputs}→{outputs}: max |diff| {diff}");
        }
        assert_attention_matches_burn(&device, [[2, 3, 7, 8], [1, 4, 485, 16]], super::lane_blocked_attention);
    }
}
