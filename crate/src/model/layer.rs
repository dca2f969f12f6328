//! The transformer layer shared by both CLIP towers (pre-norm) and the CLIPSeg decoder (post-norm).

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, relu};
use burn::tensor::{Device, Tensor};

use super::ops::{linear, quick_gelu, self_attention};

use crate::config::Activation;

/// Multi-head self-attention with HF's `q_proj`/`k_proj`/`v_proj`/`out_proj` layout.
#[derive(Module, Debug)]
pub struct SelfAttention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub out_proj: Linear,
    pub num_heads: usize,
}

impl SelfAttention {
    pub fn new(width: usize, num_heads: usize, device: &Device) -> Self {
        let projection = || LinearConfig::new(width, width).init(device);
        Self { q_proj: projection(), k_proj: projection(), v_proj: projection(), out_proj: projection(), num_heads }
    }

    /// `x`: [batch, tokens, width]. `causal` hides later tokens (the text tower).
    pub fn forward(&self, x: Tensor<3>, causal: bool) -> Tensor<3> {
        let [batch, tokens, width] = x.dims();
        let head_dim = width / self.num_heads;
        let heads = |t: Tensor<3>| t.reshape([batch, tokens, self.num_heads, head_dim]).swap_dims(1, 2);
        let q = heads(linear(x.clone(), &self.q_proj));
        let k = heads(linear(x.clone(), &self.k_proj));
        let v = heads(linear(x, &self.v_proj));
        let context = self_attention(q, k, v, causal);
        linear(context.swap_dims(1, 2).reshape([batch, tokens, width]), &self.out_proj)
    }
}

/// `fc1 → activation → fc2`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = linear(x, &self.fc1);
        let h = match self.activation {
            Activation::QuickGelu => quick_gelu(h),
            Activation::Gelu => gelu(h),
            Activation::Relu => relu(h),
        };
        linear(h, &self.fc2)
    }
}

/// One transformer block. The same weights run in one of two orders: CLIP's pre-norm encoder
/// blocks and the CLIPSeg decoder's post-norm blocks.
#[derive(Module, Debug)]
pub struct TransformerLayer {
    pub self_attn: SelfAttention,
    pub layer_norm1: LayerNorm,
    pub mlp: Mlp,
    pub layer_norm2: LayerNorm,
}

/// Widths of one transformer block.
pub struct LayerShape {
    pub width: usize,
    pub heads: usize,
    pub mlp_width: usize,
    pub activation: Activation,
    pub layer_norm_eps: f64,
}

impl TransformerLayer {
    pub fn new(shape: &LayerShape, device: &Device) -> Self {
        let norm = || LayerNormConfig::new(shape.width).with_epsilon(shape.layer_norm_eps).init(device);
        Self {
            self_attn: SelfAttention::new(shape.width, shape.heads, device),
            layer_norm1: norm(),
            mlp: Mlp {
                fc1: LinearConfig::new(shape.width, shape.mlp_width).init(device),
                fc2: LinearConfig::new(shape.mlp_width, shape.width).init(device),
                activation: shape.activation,
            },
            layer_norm2: norm(),
        }
    }

    /// CLIP encoder block: `x + Attn(LN1(x))`, then `x + MLP(LN2(x))`.
    pub fn forward_pre_norm(&self, x: Tensor<3>, causal: bool) -> Tensor<3> {
        let x = x.clone() + self.self_attn.forward(self.layer_norm1.forward(x), causal);
        x.clone() + self.mlp.forward(self.layer_norm2.forward(x))
    }

    /// CLIPSeg decoder block: `LN1(x + Attn(x))`, then `LN2(x + MLP(x))`.
    pub fn forward_post_norm(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.layer_norm1.forward(x.clone() + self.self_attn.forward(x, false));
        self.layer_norm2.forward(x.clone() + self.mlp.forward(x))
    }
}

/// A stack of pre-norm blocks (`encoder.layers.N` in the checkpoint).
#[derive(Module, Debug)]
pub struct Encoder {
    pub layers: Vec<TransformerLayer>,
}

impl Encoder {
    pub fn new(shape: &LayerShape, depth: usize, device: &Device) -> Self {
        Self { layers: (0..depth).map(|_| TransformerLayer::new(shape, device)).collect() }
    }
}
