//! The two operations whose CPU cost is mostly `exp`: attention and QuickGELU. On the CPU backend
//! they run through [`super::cpu_math`]'s vectorised kernels; on every other backend through
//! burn's own operations (the trait's default bodies).

use burn::backend::tensor::FloatTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps};
use burn::backend::{backend_extension, Backend, Flex, TensorMetadata};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{DType, Tensor};
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
        let scaled = Self::float_mul_scalar(x.clone(), 1.702f32.into());
        Self::float_mul(x, Self::sigmoid(scaled))
    }
}

/// burn's fused attention (scale 1/√head_dim, as in CLIP).
fn burn_attention<B: Backend>(q: FloatTensor<B>, k: FloatTensor<B>, v: FloatTensor<B>, causal: bool) -> FloatTensor<B> {
    let options = AttentionModuleOptions { scale: None, softcap: None, is_causal: causal };
    B::attention(q, k, v, None, None, options)
}

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
        let [.., queries, head_dim] = q.shape().dims::<4>();
        let keys = k.shape().dims::<4>()[2];
        // Two batched matmuls around a softmax of the whole score matrix: flex's own attention
        // does the same per head, with a scalar `exp`.
        let scores = Self::float_matmul(q, Self::float_swap_dims(k, 2, 3));
        let mut weights = owned_f32(scores);
        let scale = 1.0 / (head_dim as f32).sqrt();
        cpu_math::softmax_rows(weights.storage_mut::<f32>(), keys, queries, scale, causal);
        Self::float_matmul(weights, v)
    }

    fn quick_gelu(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            let scaled = Self::float_mul_scalar(x.clone(), 1.702f32.into());
            return Self::float_mul(x, Self::sigmoid(scaled));
        }
        let mut x = owned_f32(x);
        cpu_math::quick_gelu(x.storage_mut::<f32>());
        x
    }
}

#[cfg(feature = "gpu")]
impl ModelOps for burn::backend::Cube {}

/// [`ModelOps::self_attention`] on tensors.
pub fn self_attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, causal: bool) -> Tensor<4> {
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
