//! CLIPSeg (Lüddecke & Ecker, CVPR 2022): a frozen CLIP plus a small conditional decoder.
//! Field names follow the Hugging Face checkpoint so weights load by name.

mod cpu_math;
mod decoder;
mod layer;
#[cfg(feature = "gpu")]
mod lane_matmul;
mod ops;
mod text;
mod vision;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

pub use decoder::{Decoder, RefinedHead};
pub use text::TextTransformer;
pub use vision::VisionTransformer;

use crate::config::ClipSegConfig;
use crate::Error;

/// The two CLIP towers and their projections into the shared embedding space.
#[derive(Module, Debug)]
pub struct Clip {
    pub text_model: TextTransformer,
    pub vision_model: VisionTransformer,
    pub text_projection: Linear,
    pub visual_projection: Linear,
}

/// `CLIPSegForImageSegmentation`.
#[derive(Module, Debug)]
pub struct ClipSeg {
    pub clip: Clip,
    pub decoder: Decoder,
}

impl ClipSeg {
    /// The architecture with uninitialised parameters, ready for weights.
    pub fn new(config: &ClipSegConfig, device: &Device) -> Result<Self, Error> {
        let projection = |from: usize| LinearConfig::new(from, config.projection_dim).with_bias(false).init(device);
        Ok(Self {
            clip: Clip {
                text_model: TextTransformer::new(&config.text_config, device)?,
                vision_model: VisionTransformer::new(&config.vision_config, device)?,
                text_projection: projection(config.text_config.hidden_size),
                visual_projection: projection(config.vision_config.hidden_size),
            },
            decoder: Decoder::new(config, device),
        })
    }

    /// Vision activations after each of `extract_layers` (blocks after the last are skipped).
    pub fn encode_image(&self, pixels: Tensor<4>, extract_layers: &[usize]) -> Vec<Tensor<3>> {
        self.clip.vision_model.hidden_states(pixels, extract_layers)
    }

    /// Conditional vectors [batch, projection_dim] for tokenised prompts.
    pub fn embed_text(&self, ids: &[Vec<u32>], device: &Device) -> Tensor<2> {
        ops::linear(self.clip.text_model.forward(ids, device), &self.clip.text_projection)
    }

    /// Conditional vectors [batch, projection_dim] for prompt images (normalised pixels).
    pub fn embed_image(&self, pixels: Tensor<4>) -> Tensor<2> {
        ops::linear(self.clip.vision_model.pooled(pixels), &self.clip.visual_projection)
    }

    /// The decoder's per-image part: the activations reduced to its width (see
    /// [`Decoder::reduce`]).
    pub fn reduce(&self, activations: &[Tensor<3>]) -> Vec<Tensor<3>> {
        self.decoder.reduce(activations)
    }

    /// Logits [prompts, H, W] for each conditional against one image's reduced activations.
    pub fn decode(&self, reduced: &[Tensor<3>], conditionals: Tensor<2>) -> Tensor<3> {
        self.decoder.forward(reduced, conditionals)
    }
}
