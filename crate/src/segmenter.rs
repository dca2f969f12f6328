//! The core API: load a model, encode an image once, then segment any set of prompts against it
//! in one batched decode. Every prompt rule (what is valid, the order of the outputs, mixing)
//! lives here; the CLI and the browser binding only translate their inputs into [`Prompts`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;

use crate::config::ClipSegConfig;
use crate::imaging::preprocess;
use crate::model::ClipSeg;
use crate::tokenizer::ClipTokenizer;
use crate::visual_prompt::{engineered_prompt, Region};
use crate::weights::{load_weights, WeightsSource};

/// The most outputs one [`Segmenter::segment`] call returns ([`Prompts::outputs`]): hundreds of
/// prompts are one person's whole class list, and more is a runaway caller (each output is an
/// L×L map: 0.5 MB at L = 352).
pub const MAX_OUTPUTS: usize = 256;

/// The most text phrasings one call embeds (a prompt may have several, averaged).
pub const MAX_PHRASINGS: usize = 1024;

/// Conditionals decoded in one pass: more go in passes of this many, so a long prompt list
/// needs the decoder memory of eight (the refined head holds about 10 MB per prompt at once).
pub const DECODE_BATCH: usize = 8;
use crate::Error;

/// Text conditionals kept per prompt, so re-running an edited prompt list embeds only the new
/// prompts.
const TEXT_CACHE_LIMIT: usize = 256;

/// A loaded CLIPSeg model with its tokenizer, on one device.
pub struct Segmenter {
    model: ClipSeg,
    config: ClipSegConfig,
    tokenizer: ClipTokenizer,
    device: Device,
    texts: Mutex<TextCache>,
}

/// An image run through the vision tower once: its kept activations reduced to the decoder's
/// width (all the decoder reads of it, a twelfth of the activations' size), and the decoded
/// picture (a visual prompt on the image itself reads it).
pub struct EncodedImage {
    reduced: Vec<Tensor<3>>,
    image: Arc<RgbImage>,
}

impl EncodedImage {
    /// The decoded picture that was encoded.
    pub fn image(&self) -> &Arc<RgbImage> {
        &self.image
    }

    /// Size of the original image, for bringing masks back to it.
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }

    /// One value of the last reduced activation: reading it waits until the encode has run
    /// (how the browser, which cannot block, times the encode and catches device errors).
    pub fn probe(&self) -> Tensor<3> {
        let last = self.reduced.last().expect("at least one kept layer");
        last.clone().slice([0..1, 0..1, 0..1])
    }
}

/// Which picture a visual prompt shows.
#[derive(Debug, Clone)]
pub enum PromptImage {
    /// The encoded image itself.
    Query,
    /// Another picture (an example of what to segment).
    Other(Arc<RgbImage>),
}

/// A visual prompt: a picture, and optionally the object in it. Without a region the whole
/// picture is the prompt (HF's `conditional_pixel_values`); with one, the paper's engineered
/// prompt (crop with context, background darkened and blurred).
#[derive(Debug, Clone)]
pub struct VisualPrompt {
    pub image: PromptImage,
    pub region: Option<Region>,
}

/// A text prompt: one phrasing, or several whose conditionals are averaged into one output
/// (prompt ensembling: a class found by "a flag" and "the stars and stripes" at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPrompt {
    phrasings: Vec<String>,
}

impl TextPrompt {
    pub fn new(phrasings: Vec<String>) -> TextPrompt {
        TextPrompt { phrasings }
    }

    pub fn phrasings(&self) -> &[String] {
        &self.phrasings
    }
}

impl From<String> for TextPrompt {
    fn from(text: String) -> TextPrompt {
        TextPrompt { phrasings: vec![text] }
    }
}

impl From<&str> for TextPrompt {
    fn from(text: &str) -> TextPrompt {
        text.to_string().into()
    }
}

/// What to segment in one call.
///
/// Outputs, in order: one per text prompt, then one for the visual prompt. With `mix` = W each
/// text prompt's conditional becomes `(1 − W) · text + W · visual` and the visual prompt has no
/// output of its own (CLIPSeg's training mixed conditionals this way).
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    pub texts: Vec<TextPrompt>,
    pub visual: Option<VisualPrompt>,
    pub mix: Option<f32>,
}

impl Prompts {
    /// Checks every rule that does not need the model: something to segment, no empty text, a
    /// mix weight within [0, 1] with both kinds of prompt, a region that fits its picture.
    /// `query` is the picture a [`PromptImage::Query`] refers to.
    pub fn validate(&self, query: &RgbImage) -> Result<(), Error> {
        if self.texts.is_empty() && self.visual.is_none() {
            return Err(Error::prompt("nothing to segment: give a text prompt or a visual prompt"));
        }
        if self.texts.iter().any(|text| text.phrasings.is_empty() || text.phrasings.iter().any(|p| p.trim().is_empty())) {
            return Err(Error::prompt("a text prompt is empty"));
        }
        if self.outputs() > MAX_OUTPUTS {
            return Err(Error::prompt(format!(
                "{} prompts at once; at most {MAX_OUTPUTS}: segment them in several calls",
                self.outputs()
            )));
        }
        let phrasings: usize = self.texts.iter().map(|text| text.phrasings.len()).sum();
        if phrasings > MAX_PHRASINGS {
            return Err(Error::prompt(format!(
                "{phrasings} phrasings in the prompts; at most {MAX_PHRASINGS}: use fewer phrasings per prompt"
            )));
        }
        if let Some(mix) = self.mix {
            if !(0.0..=1.0).contains(&mix) {
                return Err(Error::prompt(format!("mix must be within 0 and 1, got {mix}")));
            }
            if self.texts.is_empty() || self.visual.is_none() {
                return Err(Error::prompt("mix needs text prompts and a visual prompt"));
            }
        }
        if let Some(VisualPrompt { image, region: Some(region) }) = &self.visual {
            let picture: &RgbImage = match image {
                PromptImage::Query => query,
                PromptImage::Other(picture) => picture,
            };
            region.validate(picture.width(), picture.height())?;
        }
        Ok(())
    }

    /// How many logits maps [`Segmenter::segment`] returns.
    pub fn outputs(&self) -> usize {
        let visual = usize::from(self.visual.is_some() && self.mix.is_none());
        self.texts.len() + visual
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
        Ok(Self { model, config, tokenizer, device: device.clone(), texts: Mutex::default() })
    }

    pub fn config(&self) -> &ClipSegConfig {
        &self.config
    }

    pub fn model(&self) -> &ClipSeg {
        &self.model
    }

    /// The model's square input side (every image and visual prompt is resized to it).
    pub fn input_size(&self) -> usize {
        self.config.input_size()
    }

    /// Side of the square logits maps [`Self::segment`] returns.
    pub fn logits_size(&self) -> usize {
        self.config.logits_size()
    }

    /// Normalised pixels [1, 3, S, S] (S = the input size) as a tensor on this device.
    fn pixel_tensor(&self, pixels: Vec<f32>) -> Tensor<4> {
        let size = self.input_size();
        Tensor::from_data(TensorData::new(pixels, [1, 3, size, size]), &self.device)
    }

    /// Runs the vision tower up to the last layer the decoder reads, and the decoder's
    /// per-image part.
    pub fn encode_image(&self, image: impl Into<Arc<RgbImage>>) -> EncodedImage {
        let image = image.into();
        let reduced = self.model.reduce(&self.vision_activations(&image));
        EncodedImage { reduced, image }
    }

    /// The vision hidden states the decoder reads, shallowest first (what
    /// [`Self::encode_image`] reduces; public for checking against the reference).
    pub fn vision_activations(&self, image: &RgbImage) -> Vec<Tensor<3>> {
        let pixels = self.pixel_tensor(preprocess(image, self.input_size() as u32));
        self.model.encode_image(pixels, &self.config.extract_layers)
    }

    /// CLIP token ids of a prompt (start and end tokens included, at most 77).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.tokenizer.encode(text)
    }

    /// Conditional vectors [prompts, projection_dim] for text prompts, in one batch (no cache).
    pub fn embed_texts(&self, prompts: &[&str]) -> Result<Tensor<2>, Error> {
        if prompts.is_empty() {
            return Err(Error::prompt("no prompt given"));
        }
        let mut ids = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            if prompt.trim().is_empty() {
                return Err(Error::prompt("a text prompt is empty"));
            }
            ids.push(self.tokenize(prompt)?);
        }
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        for seq in &mut ids {
            seq.resize(longest, self.tokenizer.pad_id());
        }
        Ok(self.model.embed_text(&ids, &self.device))
    }

    /// The normalised pixels [3, S, S] a visual prompt feeds the vision tower.
    fn visual_pixels(&self, image: &RgbImage, region: Option<&Region>) -> Result<Vec<f32>, Error> {
        let size = self.input_size();
        match region {
            Some(region) => engineered_prompt(image, region, size),
            None => Ok(preprocess(image, size as u32)),
        }
    }

    /// The conditional vector [1, projection_dim] of a visual prompt on `image` (see
    /// [`VisualPrompt`]).
    pub fn embed_visual_prompt(&self, image: &RgbImage, region: Option<&Region>) -> Result<Tensor<2>, Error> {
        let pixels = self.visual_pixels(image, region)?;
        Ok(self.model.embed_image(self.pixel_tensor(pixels)))
    }

    /// Logits [conditionals, L, L] (L = [`Self::logits_size`], before sigmoid) of every
    /// conditional on the encoded image: batched decoder passes of up to [`DECODE_BATCH`].
    pub fn decode(&self, image: &EncodedImage, conditionals: Tensor<2>) -> Tensor<3> {
        let count = conditionals.dims()[0];
        if count <= DECODE_BATCH {
            return self.model.decode(&image.reduced, conditionals);
        }
        let passes = (0..count)
            .step_by(DECODE_BATCH)
            .map(|start| {
                let rows = conditionals.clone().slice(start..(start + DECODE_BATCH).min(count));
                self.model.decode(&image.reduced, rows)
            })
            .collect();
        Tensor::cat(passes, 0)
    }

    /// Segments `image` with `prompts`: logits [outputs, L, L] (before sigmoid), outputs in the
    /// order [`Prompts`] describes, all decoded in one batch. Text conditionals are cached per
    /// prompt text, so a repeated prompt is not embedded again.
    pub fn segment(&self, image: &EncodedImage, prompts: &Prompts) -> Result<Tensor<3>, Error> {
        prompts.validate(&image.image)?;
        let visual = match &prompts.visual {
            Some(VisualPrompt { image: picture, region }) => {
                let picture = match picture {
                    PromptImage::Query => &image.image,
                    PromptImage::Other(picture) => picture,
                };
                Some(self.visual_pixels(picture, region.as_ref())?)
            }
            None => None,
        };
        let texts = if prompts.texts.is_empty() { None } else { Some(self.text_conditionals(&prompts.texts)?) };
        let visual = visual.map(|pixels| self.model.embed_image(self.pixel_tensor(pixels)));
        let conditionals = match (texts, visual, prompts.mix) {
            (Some(texts), Some(visual), Some(mix)) => {
                let visual = visual.expand([prompts.texts.len(), self.config.projection_dim]);
                texts * (1.0 - mix) + visual * mix
            }
            (texts, visual, _) => Tensor::cat(texts.into_iter().chain(visual).collect(), 0),
        };
        Ok(self.decode(image, conditionals))
    }

    /// One conditional per text prompt [prompts, projection_dim]: the mean of its phrasings'.
    fn text_conditionals(&self, prompts: &[TextPrompt]) -> Result<Tensor<2>, Error> {
        let phrasings: Vec<String> = prompts.iter().flat_map(|p| p.phrasings.iter().cloned()).collect();
        let rows = self.cached_text_conditionals(&phrasings)?;
        if phrasings.len() == prompts.len() {
            return Ok(rows);
        }
        let mut start = 0;
        let means = prompts
            .iter()
            .map(|prompt| {
                let end = start + prompt.phrasings.len();
                let mean = rows.clone().slice(start..end).mean_dim(0);
                start = end;
                mean
            })
            .collect();
        Ok(Tensor::cat(means, 0))
    }

    /// Text conditionals [texts, projection_dim], embedding (in one batch) only the texts the
    /// cache does not hold.
    fn cached_text_conditionals(&self, texts: &[String]) -> Result<Tensor<2>, Error> {
        let mut cache = self.texts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut fresh: Vec<&str> = Vec::new();
        for text in texts {
            if !cache.entries.contains_key(text) && !fresh.contains(&text.as_str()) {
                fresh.push(text);
            }
        }
        if !fresh.is_empty() {
            let embedded = self.embed_texts(&fresh)?;
            for (row, text) in fresh.iter().enumerate() {
                cache.insert(text, embedded.clone().slice(row..row + 1));
            }
        }
        let rows = cache.take(texts);
        cache.evict(TEXT_CACHE_LIMIT);
        Ok(Tensor::cat(rows, 0))
    }

    /// How many text conditionals the cache holds (for tests).
    #[doc(hidden)]
    pub fn cached_texts(&self) -> usize {
        self.texts.lock().unwrap_or_else(PoisonError::into_inner).entries.len()
    }
}

/// Text conditionals by prompt text, least recently used evicted first.
#[derive(Default)]
struct TextCache {
    entries: HashMap<String, (Tensor<2>, u64)>,
    /// Incremented per request; each entry remembers the last request that used it.
    clock: u64,
}

impl TextCache {
    fn insert(&mut self, text: &str, conditional: Tensor<2>) {
        self.entries.insert(text.to_string(), (conditional, self.clock));
    }

    /// The conditionals of `texts` (all present), marked as used by this request.
    fn take(&mut self, texts: &[String]) -> Vec<Tensor<2>> {
        self.clock += 1;
        let now = self.clock;
        texts
            .iter()
            .map(|text| {
                let (conditional, used) = self.entries.get_mut(text).expect("embedded above");
                *used = now;
                conditional.clone()
            })
            .collect()
    }

    /// Drops the least recently used entries beyond `limit`, never those of the last request.
    fn evict(&mut self, limit: usize) {
        if self.entries.len() <= limit {
            return;
        }
        let mut by_age: Vec<(u64, String)> =
            self.entries.iter().filter(|(_, (_, used))| *used < self.clock).map(|(k, (_, used))| (*used, k.clone())).collect();
        by_age.sort();
        let excess = self.entries.len() - limit;
        for (_, text) in by_age.into_iter().take(excess) {
            self.entries.remove(&text);
        }
    }
}
