//! The core API: load a model, encode an image once, embed prompts, decode them in one batch.

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;

use crate::config::{ClipSegConfig, INPUT_SIZE};
use crate::imaging::preprocess;
use crate::model::ClipSeg;
use crate::tokenizer::ClipTokenizer;
use crate::visual_prompt::{engineered_prompt, Region};
use crate::weights::{load_weights, WeightsSource};
use crate::Error;

/// A loaded CLIPSeg model with its tokenizer, on one device.
pub struct Segmenter {
    model: ClipSeg,
    config: ClipSegConfig,
    tokenizer: ClipTokenizer,
    device: Device,
}

/// An image run through the vision tower once: the activations the decoder reads.
pub struct EncodedImage {
    activations: Vec<Tensor<3>>,
    /// Size of the original image, for bringing masks back to it.
    pub width: u32,
    pub height: u32,
}

impl EncodedImage {
    /// One value of the deepest kept activation: reading it waits until the encode has run
    /// (how the browser, which cannot block, times the encode and catches device errors).
    pub fn probe(&self) -> Tensor<3> {
        let deepest = self.activations.last().expect("at least one kept layer");
        deepest.clone().slice([0..1, 0..1, 0..1])
    }
}

impl Segmenter {
    /// Builds the model from `config.json` text, weights and `tokenizer.json` bytes.
    pub fn from_parts(
        config_json: &str,
        weights: WeightsSource,
        tokenizer_json: &[u8],
        device: &Device,
    ) -> Result<Self, Error> {
        let config = ClipSegConfig::from_json(config_json)?;
        let tokenizer = ClipTokenizer::from_bytes(tokenizer_json)?;
        let mut model = ClipSeg::new(&config, device)?;
        load_weights(&mut model, weights)?;
        Ok(Self { model, config, tokenizer, device: device.clone() })
    }

    pub fn config(&self) -> &ClipSegConfig {
        &self.config
    }

    pub fn model(&self) -> &ClipSeg {
        &self.model
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The processor's input tensor [1, 3, 352, 352] for any image.
    fn pixels(&self, image: &RgbImage) -> Tensor<4> {
        let size = INPUT_SIZE;
        let data = TensorData::new(preprocess(image, size as u32), [1, 3, size, size]);
        Tensor::from_data(data, &self.device)
    }

    /// Runs the vision tower up to the last layer the decoder reads.
    pub fn encode_image(&self, image: &RgbImage) -> EncodedImage {
        self.encode_pixels(self.pixels(image), image.width(), image.height())
    }

    /// As [`Self::encode_image`], from already normalised pixels [1, 3, 352, 352].
    pub fn encode_pixels(&self, pixels: Tensor<4>, width: u32, height: u32) -> EncodedImage {
        let activations = self.model.encode_image(pixels, &self.config.extract_layers);
        EncodedImage { activations, width, height }
    }

    /// The kept vision activations, shallowest first (for checking against the reference).
    pub fn activations(encoded: &EncodedImage) -> &[Tensor<3>] {
        &encoded.activations
    }

    /// CLIP token ids of a prompt (start and end tokens included, at most 77).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.tokenizer.encode(text)
    }

    /// Conditional vectors [prompts, projection_dim] for text prompts, in one batch.
    pub fn embed_texts(&self, prompts: &[&str]) -> Result<Tensor<2>, Error> {
        if prompts.is_empty() {
            return Err(Error::Prompt("no prompt given".into()));
        }
        let mut ids = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            if prompt.trim().is_empty() {
                return Err(Error::Prompt("a text prompt is empty".into()));
            }
            ids.push(self.tokenize(prompt)?);
        }
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        for seq in &mut ids {
            seq.resize(longest, self.tokenizer.pad_id());
        }
        Ok(self.model.embed_text(&ids, &self.device))
    }

    /// The conditional vector [1, projection_dim] of a visual prompt: with a region, the paper's
    /// engineered prompt (crop with context, background darkened and blurred); without one, the
    /// plain image embedding (HF's `conditional_pixel_values`).
    pub fn embed_visual_prompt(&self, image: &RgbImage, region: Option<&Region>) -> Result<Tensor<2>, Error> {
        let pixels = match region {
            Some(region) => {
                let size = INPUT_SIZE;
                let prompt = engineered_prompt(image, region, size)?;
                Tensor::from_data(TensorData::new(prompt, [1, 3, size, size]), &self.device)
            }
            None => self.pixels(image),
        };
        Ok(self.embed_prompt_pixels(pixels))
    }

    /// Conditional vectors from normalised prompt pixels [batch, 3, 352, 352].
    pub fn embed_prompt_pixels(&self, pixels: Tensor<4>) -> Tensor<2> {
        self.model.embed_image(pixels)
    }

    /// Logits [prompts, 352, 352] (before sigmoid) of every conditional on the encoded image:
    /// one batched decoder pass.
    pub fn decode(&self, image: &EncodedImage, conditionals: Tensor<2>) -> Tensor<3> {
        self.model.decode(&image.activations, conditionals)
    }
}

/// A weighted sum of conditional vectors (e.g. a text and a visual prompt), the way CLIPSeg's
/// "uni" training mixed them. Entries share one shape ([n, projection_dim]); weights are used
/// as given.
pub fn mix_conditionals(parts: &[(Tensor<2>, f32)]) -> Result<Tensor<2>, Error> {
    let mut parts = parts.iter();
    let (first, w) = parts.next().ok_or_else(|| Error::Prompt("nothing to mix".into()))?;
    Ok(parts.fold(first.clone() * *w, |sum, (t, w)| sum + t.clone() * *w))
}

/// Several conditional batches as one [total, projection_dim] batch, in order.
pub fn stack_conditionals(parts: Vec<Tensor<2>>) -> Tensor<2> {
    Tensor::cat(parts, 0)
}
