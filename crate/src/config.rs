//! The checkpoint's `config.json`, read with the defaults `transformers` uses for missing keys,
//! so every published CLIPSeg checkpoint and any test configuration go through the same code.

use serde::Deserialize;

use crate::Error;
use crate::tokenizer::MAX_TOKENS;

/// `CLIPSegConfig`: the two CLIP towers plus the decoder's settings.
#[derive(Debug, Clone, Deserialize)]
pub struct ClipSegConfig {
    pub text_config: TextConfig,
    pub vision_config: VisionConfig,
    #[serde(default = "defaults::projection_dim")]
    pub projection_dim: usize,
    #[serde(default = "defaults::extract_layers")]
    pub extract_layers: Vec<usize>,
    #[serde(default = "defaults::reduce_dim")]
    pub reduce_dim: usize,
    #[serde(default = "defaults::decoder_num_attention_heads")]
    pub decoder_num_attention_heads: usize,
    #[serde(default = "defaults::decoder_intermediate_size")]
    pub decoder_intermediate_size: usize,
    #[serde(default)]
    pub conditional_layer: usize,
    #[serde(default)]
    pub use_complex_transposed_convolution: bool,
}

/// `CLIPSegTextConfig`.
#[derive(Debug, Clone, Deserialize)]
pub struct TextConfig {
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "defaults::text_hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "defaults::text_intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "defaults::text_num_attention_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "defaults::hidden_act")]
    pub hidden_act: String,
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// The published checkpoints keep the legacy value 2, which selects HF's "largest token id"
    /// pooling; any other value pools at the first occurrence of this id.
    #[serde(default = "defaults::eos_token_id")]
    pub eos_token_id: u32,
}

/// `CLIPSegVisionConfig`.
#[derive(Debug, Clone, Deserialize)]
pub struct VisionConfig {
    #[serde(default = "defaults::vision_hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "defaults::vision_intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "defaults::vision_num_attention_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "defaults::num_channels")]
    pub num_channels: usize,
    /// Training resolution: the position-embedding grid is `image_size / patch_size` square.
    #[serde(default = "defaults::image_size")]
    pub image_size: usize,
    #[serde(default = "defaults::patch_size")]
    pub patch_size: usize,
    #[serde(default = "defaults::hidden_act")]
    pub hidden_act: String,
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
}

/// The non-linearity of the CLIP towers' MLPs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    QuickGelu,
    Gelu,
    Relu,
}

impl Activation {
    fn parse(name: &str) -> Result<Self, Error> {
        match name {
            "quick_gelu" => Ok(Self::QuickGelu),
            "gelu" => Ok(Self::Gelu),
            "relu" => Ok(Self::Relu),
            other => Err(Error::config(format!("unsupported hidden_act \"{other}\""))),
        }
    }
}

impl TextConfig {
    pub fn activation(&self) -> Result<Activation, Error> {
        Activation::parse(&self.hidden_act)
    }
}

impl VisionConfig {
    pub fn activation(&self) -> Result<Activation, Error> {
        Activation::parse(&self.hidden_act)
    }

    /// Side of the square position-embedding grid the checkpoint was trained with.
    pub fn trained_grid(&self) -> usize {
        self.image_size / self.patch_size
    }
}

/// The processor's square input size for every published checkpoint.
pub const INPUT_SIZE: usize = 352;

/// Upper bounds on a configuration's sizes, each far above the largest CLIP model (ViT-bigG: 48
/// layers, width 1664, MLP 8192), so only damaged or foreign files reach them.
const MAX_LAYERS: usize = 256;
const MAX_WIDTH: usize = 1 << 16;
const MAX_IMAGE_SIZE: usize = 8192;
const MAX_VOCABULARY: usize = 1 << 20;
const MAX_POSITIONS: usize = 1 << 16;

impl ClipSegConfig {
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let config: Self = serde_json::from_str(json)
            .map_err(|e| Error::config(format!("config.json is not a CLIPSeg config: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Catches configurations the architecture cannot run, before any weight is read.
    fn validate(&self) -> Result<(), Error> {
        let fail = |msg: String| Err(Error::config(msg));
        let v = &self.vision_config;
        let t = &self.text_config;
        // Sizes far beyond any CLIP model are a damaged or foreign file; refused here, before the
        // model's layers are built from them (a million layers would exhaust memory first).
        let widths = [
            ("vision_config.hidden_size", v.hidden_size),
            ("vision_config.intermediate_size", v.intermediate_size),
            ("text_config.hidden_size", t.hidden_size),
            ("text_config.intermediate_size", t.intermediate_size),
            ("projection_dim", self.projection_dim),
            ("reduce_dim", self.reduce_dim),
            ("decoder_intermediate_size", self.decoder_intermediate_size),
        ];
        let bounds = widths.into_iter().map(|(name, value)| (name, value, MAX_WIDTH)).chain([
            ("vision_config.num_hidden_layers", v.num_hidden_layers, MAX_LAYERS),
            ("text_config.num_hidden_layers", t.num_hidden_layers, MAX_LAYERS),
            ("extract_layers (their number)", self.extract_layers.len(), MAX_LAYERS),
            ("vision_config.image_size", v.image_size, MAX_IMAGE_SIZE),
            ("text_config.vocab_size", t.vocab_size, MAX_VOCABULARY),
            ("text_config.max_position_embeddings", t.max_position_embeddings, MAX_POSITIONS),
        ]);
        for (name, value, max) in bounds {
            if value > max {
                return fail(format!(
                    "config.json gives {name} = {value}, beyond any CLIPSeg model (at most {max}): the file is damaged or not a CLIPSeg configuration"
                ));
            }
        }
        if v.num_channels != 3 {
            return fail(format!("vision_config.num_channels is {}, but images are RGB (3)", v.num_channels));
        }
        if t.max_position_embeddings < MAX_TOKENS {
            return fail(format!(
                "text_config.max_position_embeddings is {}, fewer than the {MAX_TOKENS} tokens a prompt may have",
                t.max_position_embeddings
            ));
        }
        v.activation()?;
        t.activation()?;
        if self.extract_layers.is_empty() {
            return fail("extract_layers is empty".into());
        }
        if let Some(&layer) = self.extract_layers.iter().find(|&&l| l >= v.num_hidden_layers) {
            return fail(format!(
                "extract_layers names layer {layer}, but the vision tower has {} layers",
                v.num_hidden_layers
            ));
        }
        if self.conditional_layer >= self.extract_layers.len() {
            return fail(format!(
                "conditional_layer {} is not below the number of decoder layers {}",
                self.conditional_layer,
                self.extract_layers.len()
            ));
        }
        for (what, width, heads) in [
            ("vision", v.hidden_size, v.num_attention_heads),
            ("text", t.hidden_size, t.num_attention_heads),
            ("decoder", self.reduce_dim, self.decoder_num_attention_heads),
        ] {
            if heads == 0 || width % heads != 0 {
                return fail(format!("{what} width {width} is not divisible by {heads} heads"));
            }
        }
        if v.patch_size == 0 || v.image_size % v.patch_size != 0 {
            return fail(format!(
                "image_size {} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            ));
        }
        if INPUT_SIZE % v.patch_size != 0 {
            return fail(format!("patch_size {} does not divide {INPUT_SIZE}", v.patch_size));
        }
        if self.use_complex_transposed_convolution && (v.patch_size % 4 != 0 || self.reduce_dim < 2) {
            return fail(format!(
                "the refined head needs a patch size divisible by 4 (got {})",
                v.patch_size
            ));
        }
        if t.eos_token_id as usize >= t.vocab_size && t.eos_token_id != 2 {
            return fail(format!("eos_token_id {} is outside the vocabulary", t.eos_token_id));
        }
        Ok(())
    }

    /// The processor's square input side ([`INPUT_SIZE`]).
    pub fn input_size(&self) -> usize {
        INPUT_SIZE
    }

    /// Side of the square logits maps the decoder returns: the input's patch grid upsampled by
    /// the head (×patch for the plain head, ×(patch/4)² for the refined one). [`INPUT_SIZE`] for
    /// the published checkpoints; 704 for a refined head on 32-pixel patches.
    pub fn logits_size(&self) -> usize {
        let patch = self.vision_config.patch_size;
        let grid = INPUT_SIZE / patch;
        if self.use_complex_transposed_convolution {
            grid * (patch / 4) * (patch / 4)
        } else {
            grid * patch
        }
    }
}

/// `transformers`' defaults for keys a `config.json` may leave out.
mod defaults {
    pub fn projection_dim() -> usize { 512 }
    pub fn extract_layers() -> Vec<usize> { vec![3, 6, 9] }
    pub fn reduce_dim() -> usize { 64 }
    pub fn decoder_num_attention_heads() -> usize { 4 }
    pub fn decoder_intermediate_size() -> usize { 2048 }
    pub fn vocab_size() -> usize { 49408 }
    pub fn text_hidden_size() -> usize { 512 }
    pub fn text_intermediate_size() -> usize { 2048 }
    pub fn num_hidden_layers() -> usize { 12 }
    pub fn text_num_attention_heads() -> usize { 8 }
    pub fn max_position_embeddings() -> usize { 77 }
    pub fn hidden_act() -> String { "quick_gelu".into() }
    pub fn layer_norm_eps() -> f64 { 1e-5 }
    pub fn eos_token_id() -> u32 { 2 }
    pub fn vision_hidden_size() -> usize { 768 }
    pub fn vision_intermediate_size() -> usize { 3072 }
    pub fn vision_num_attention_heads() -> usize { 12 }
    pub fn num_channels() -> usize { 3 }
    pub fn image_size() -> usize { 224 }
    pub fn patch_size() -> usize { 32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn tiny_with(patch: impl Fn(&mut serde_json::Value)) -> Result<ClipSegConfig, Error> {
        let text = include_str!("../../fixtures/tiny-refined/config.json");
        let mut json: serde_json::Value = serde_json::from_str(text).unwrap();
        patch(&mut json);
        ClipSegConfig::from_json(&json.to_string())
    }

    #[test]
    fn absurd_sizes_are_refused_before_any_layer_is_built() {
        assert!(tiny_with(|_| {}).is_ok());
        let cases: [(&str, fn(&mut serde_json::Value)); 6] = [
            ("vision_config.num_hidden_layers = 1000000", |c| c["vision_config"]["num_hidden_layers"] = 1_000_000.into()),
            ("text_config.num_hidden_layers = 1000000", |c| c["text_config"]["num_hidden_layers"] = 1_000_000.into()),
            ("vision_config.hidden_size = 1000000000", |c| c["vision_config"]["hidden_size"] = 1_000_000_000.into()),
            ("reduce_dim = 1000000000", |c| c["reduce_dim"] = 1_000_000_000.into()),
            ("text_config.vocab_size = 10000000000", |c| c["text_config"]["vocab_size"] = 10_000_000_000u64.into()),
            ("vision_config.image_size = 1000000", |c| c["vision_config"]["image_size"] = 1_000_000.into()),
        ];
        for (needle, patch) in cases {
            let error = tiny_with(patch).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config, "{error}");
            assert!(error.message().contains(needle) && error.message().contains("damaged"), "{error}");
        }
        let error = tiny_with(|c| c["vision_config"]["num_channels"] = 4.into()).unwrap_err();
        assert!(error.message().contains("RGB"), "{error}");
        let error = tiny_with(|c| c["text_config"]["max_position_embeddings"] = 16.into()).unwrap_err();
        assert!(error.message().contains("77 tokens"), "{error}");
    }
}
