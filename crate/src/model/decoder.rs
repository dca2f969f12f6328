//! The CLIPSeg decoder: reduce the kept vision activations to `reduce_dim`, condition with FiLM,
//! mix with post-norm transformer blocks, and upsample the patch grid to pixels.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::layer::{LayerShape, TransformerLayer};
use super::ops::linear;
use crate::config::{Activation, ClipSegConfig};

/// `use_complex_transposed_convolution`: Conv3×3 → ReLU → ConvT(p/4) → ReLU → ConvT(p/4).
/// HF names these `transposed_convolution.0/.2/.4`; the loader maps them here.
#[derive(Module, Debug)]
pub struct RefinedHead {
    pub conv: Conv2d,
    pub upsample1: ConvTranspose2d,
    pub upsample2: ConvTranspose2d,
}

#[derive(Module, Debug)]
pub struct Decoder {
    pub film_mul: Linear,
    pub film_add: Linear,
    /// One per kept activation, `reduces[0]` for the deepest.
    pub reduces: Vec<Linear>,
    pub layers: Vec<TransformerLayer>,
    /// Exactly one of the two heads is present, as the config says.
    pub refined_head: Option<RefinedHead>,
    pub plain_head: Option<ConvTranspose2d>,
    pub conditional_layer: usize,
}

impl Decoder {
    pub fn new(config: &ClipSegConfig, device: &Device) -> Self {
        let reduce = config.reduce_dim;
        let patch = config.vision_config.patch_size;
        let shape = LayerShape {
            width: reduce,
            heads: config.decoder_num_attention_heads,
            mlp_width: config.decoder_intermediate_size,
            // The decoder blocks use ReLU whatever the vision config says.
            activation: Activation::Relu,
            layer_norm_eps: config.vision_config.layer_norm_eps,
        };
        let depth = config.extract_layers.len();
        let upsample = |from: usize, to: usize, k: usize| {
            ConvTranspose2dConfig::new([from, to], [k, k]).with_stride([k, k]).init(device)
        };
        let (refined_head, plain_head) = if config.use_complex_transposed_convolution {
            let k = patch / 4;
            let head = RefinedHead {
                conv: Conv2dConfig::new([reduce, reduce], [3, 3])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init(device),
                upsample1: upsample(reduce, reduce / 2, k),
                upsample2: upsample(reduce / 2, 1, k),
            };
            (Some(head), None)
        } else {
            (None, Some(upsample(reduce, 1, patch)))
        };
        Self {
            film_mul: LinearConfig::new(config.projection_dim, reduce).init(device),
            film_add: LinearConfig::new(config.projection_dim, reduce).init(device),
            reduces: (0..depth).map(|_| LinearConfig::new(config.vision_config.hidden_size, reduce).init(device)).collect(),
            layers: (0..depth).map(|_| TransformerLayer::new(&shape, device)).collect(),
            refined_head,
            plain_head,
            conditional_layer: config.conditional_layer,
        }
    }

    /// The kept vision hidden states of one image (shallowest first, each [1, tokens, width])
    /// reduced to `reduce_dim`, deepest first: the part of the decoder that does not depend on
    /// the prompt, so it runs once per image.
    pub fn reduce(&self, activations: &[Tensor<3>]) -> Vec<Tensor<3>> {
        activations.iter().rev().zip(&self.reduces).map(|(activation, reduce)| reduce.forward(activation.clone())).collect()
    }

    /// `reduced`: [`Self::reduce`]'s output for one image. `conditionals`: [prompts,
    /// projection_dim]. Returns logits [prompts, H, W] at the input resolution.
    pub fn forward(&self, reduced: &[Tensor<3>], conditionals: Tensor<2>) -> Tensor<3> {
        let mut x: Option<Tensor<3>> = None;
        for (step, reduced) in reduced.iter().enumerate() {
            // Before FiLM the state is shared by all prompts (batch 1); broadcasting widens it.
            let mut h = match x {
                Some(previous) => reduced.clone() + previous,
                None => reduced.clone(),
            };
            if step == self.conditional_layer {
                let scale = linear(conditionals.clone(), &self.film_mul).unsqueeze_dim::<3>(1);
                let shift = linear(conditionals.clone(), &self.film_add).unsqueeze_dim::<3>(1);
                h = scale * h + shift;
            }
            x = Some(self.layers[step].forward_post_norm(h));
        }
        let x = x.expect("at least one activation");
        let [prompts, tokens, width] = x.dims();
        let side = ((tokens - 1) as f64).sqrt().round() as usize;
        let grid = x.slice([0..prompts, 1..tokens]).swap_dims(1, 2).reshape([prompts, width, side, side]);
        let pixels = match (&self.refined_head, &self.plain_head) {
            (Some(head), _) => {
                let h = relu(head.conv.forward(grid));
                let h = relu(head.upsample1.forward(h));
                head.upsample2.forward(h)
            }
            (None, Some(head)) => head.forward(grid),
            (None, None) => unreachable!("the constructor always builds one head"),
        };
        let [_, _, height, width] = pixels.dims();
        pixels.reshape([prompts, height, width])
    }
}
