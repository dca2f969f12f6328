//! The browser binding: a thin layer over [`Segmenter`] that the Web Worker (`www/worker.js`)
//! drives. It owns one model, the encoded current image and the example image of visual prompts;
//! everything else (fetching, caching, drawing) lives in JavaScript.
//!
//! Every result is read back with `into_data_async`: a synchronous read panics in the browser.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::tensor::wgpu::WgpuSetup;
use burn::tensor::{Device, Tensor};
use image::RgbImage;
use js_sys::{Float32Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::imaging::decode_image;
use crate::segmenter::{mix_conditionals, stack_conditionals};
use crate::{EncodedImage, Error, Region, Segmenter, WeightsSource};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

thread_local! {
    /// burn's wgpu runtime can be initialised once per page; later sessions reuse its device.
    /// The setup stays alive with it: once its `wgpu::Instance` is dropped, the browser
    /// invalidates the device ("A valid external Instance reference no longer exists").
    static WEBGPU: RefCell<Option<(Device, WgpuSetup)>> = const { RefCell::new(None) };
}

/// Text conditionals kept per prompt, so editing one prompt re-embeds only that one.
const TEXT_CACHE_LIMIT: usize = 256;

/// A loaded model on one backend, with the image it segments.
#[wasm_bindgen]
pub struct Session {
    state: Rc<State>,
}

struct State {
    segmenter: Segmenter,
    backend: &'static str,
    /// The current image, decoded (box prompts crop it) and encoded (every decode reads it).
    image: RefCell<Option<(Rc<RgbImage>, Rc<EncodedImage>)>>,
    /// The example image of visual prompts taken from another picture.
    example: RefCell<Option<Rc<RgbImage>>>,
    texts: RefCell<HashMap<String, Tensor<2>>>,
}

fn js_error(error: impl std::fmt::Display) -> JsValue {
    JsError::new(&error.to_string()).into()
}

async fn device_for(backend: &str) -> Result<(Device, &'static str), Error> {
    match backend {
        "cpu" => Ok((Device::flex(), "cpu")),
        "webgpu" => {
            if let Some((device, _)) = WEBGPU.with_borrow(Clone::clone) {
                return Ok((device, "webgpu"));
            }
            let (device, setup) = Device::wgpu_options()
                .init_with_setup_async()
                .await
                .map_err(|e| Error::Device(format!("WebGPU is not available: {e}")))?;
            WEBGPU.set(Some((device.clone(), setup)));
            Ok((device, "webgpu"))
        }
        other => Err(Error::Device(format!("unknown backend \"{other}\" (expected webgpu or cpu)"))),
    }
}

/// RGBA pixels (canvas `ImageData`) to RGB; alpha is dropped as PIL's `convert("RGB")` does.
fn rgb_from_rgba(rgba: &[u8], width: u32, height: u32) -> Result<RgbImage, Error> {
    if width == 0 || height == 0 || rgba.len() != 4 * width as usize * height as usize {
        return Err(Error::Image(format!(
            "{} bytes are not {width}×{height} RGBA pixels",
            rgba.len()
        )));
    }
    let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    Ok(RgbImage::from_raw(width, height, rgb).expect("length checked"))
}

/// An image given as an encoded file (`bytes`) or as RGBA pixels (`rgba`, `width`, `height`).
fn image_from(bytes: Option<Vec<u8>>, rgba: Option<Vec<u8>>, width: u32, height: u32) -> Result<RgbImage, Error> {
    match (bytes, rgba) {
        (Some(bytes), _) => decode_image(&bytes),
        (None, Some(rgba)) => rgb_from_rgba(&rgba, width, height),
        (None, None) => Err(Error::Image("no image given".into())),
    }
}

#[wasm_bindgen]
impl Session {
    /// Loads the model on `backend` ("webgpu" or "cpu") from the files of a model directory.
    pub async fn create(
        backend: String,
        config_json: String,
        weights: Vec<u8>,
        tokenizer_json: Vec<u8>,
    ) -> Result<Session, JsValue> {
        let (device, backend) = device_for(&backend).await.map_err(js_error)?;
        let segmenter =
            Segmenter::from_parts(&config_json, WeightsSource::SafetensorsBytes(weights), &tokenizer_json, &device)
                .map_err(js_error)?;
        let state = State {
            segmenter,
            backend,
            image: RefCell::new(None),
            example: RefCell::new(None),
            texts: RefCell::new(HashMap::new()),
        };
        Ok(Session { state: Rc::new(state) })
    }

    /// The backend in use: "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.backend.to_string()
    }

    /// Decodes and encodes the image to segment (an image file's bytes, or RGBA pixels), and
    /// resolves once the vision tower has run, to `[width, height]`.
    #[wasm_bindgen(js_name = setImage)]
    pub fn set_image(&self, bytes: Option<Vec<u8>>, rgba: Option<Vec<u8>>, width: u32, height: u32) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let image = image_from(bytes, rgba, width, height).map_err(js_error)?;
            // Drop the previous activations before computing new ones: they can be large.
            state.image.replace(None);
            let encoded = state.segmenter.encode_image(&image);
            // Reading one value waits for the encode and surfaces any device error here.
            encoded.probe().into_data_async().await.map_err(js_error)?;
            let size = js_sys::Array::of2(&image.width().into(), &image.height().into());
            state.image.replace(Some((Rc::new(image), Rc::new(encoded))));
            Ok(size.into())
        })
    }

    /// Sets the example image of visual prompts that come from another picture.
    #[wasm_bindgen(js_name = setExample)]
    pub fn set_example(&self, bytes: Option<Vec<u8>>, rgba: Option<Vec<u8>>, width: u32, height: u32) -> Result<Vec<u32>, JsValue> {
        let image = image_from(bytes, rgba, width, height).map_err(js_error)?;
        let size = vec![image.width(), image.height()];
        self.state.example.replace(Some(Rc::new(image)));
        Ok(size)
    }

    /// Logits (before sigmoid) `[outputs, 352, 352]` of the current image, flattened.
    ///
    /// - `prompts`: text prompts, one output each.
    /// - `visual`: `"image"` (the current image) or `"example"` (the example image) adds a visual
    ///   prompt; `visual_box` (`[x0, y0, x1, y1]` in that image's pixels) selects the object,
    ///   otherwise the whole image is the prompt.
    /// - `mix`: with both kinds, each text prompt's conditional becomes
    ///   `(1 - mix) · text + mix · visual` (one output per text prompt); without it the visual
    ///   prompt is one more output after the texts.
    pub fn segment(
        &self,
        prompts: Vec<String>,
        visual: Option<String>,
        visual_box: Option<Vec<f32>>,
        mix: Option<f32>,
    ) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let logits = state.segment(&prompts, visual.as_deref(), visual_box, mix).map_err(js_error)?;
            let values = logits.into_data_async().await.map_err(js_error)?;
            let values = values.as_slice::<f32>().map_err(|e| js_error(format!("{e:?}")))?;
            Ok(Float32Array::from(values).into())
        })
    }
}

impl State {
    fn current_image(&self) -> Result<(Rc<RgbImage>, Rc<EncodedImage>), Error> {
        self.image.borrow().clone().ok_or_else(|| Error::Prompt("no image is set: choose an image first".into()))
    }

    /// Text conditionals [prompts, dim], embedding only the prompts not seen before.
    fn embed_texts(&self, prompts: &[String]) -> Result<Tensor<2>, Error> {
        let mut cache = self.texts.borrow_mut();
        let mut fresh: Vec<&str> = Vec::new();
        for prompt in prompts {
            if !cache.contains_key(prompt) && !fresh.contains(&prompt.as_str()) {
                fresh.push(prompt);
            }
        }
        if !fresh.is_empty() {
            let embedded = self.segmenter.embed_texts(&fresh)?;
            if cache.len() + fresh.len() > TEXT_CACHE_LIMIT {
                cache.clear();
            }
            for (row, prompt) in fresh.iter().enumerate() {
                cache.insert(prompt.to_string(), embedded.clone().slice(row..row + 1));
            }
        }
        Ok(stack_conditionals(prompts.iter().map(|p| cache[p].clone()).collect()))
    }

    fn embed_visual(&self, source: &str, visual_box: Option<Vec<f32>>) -> Result<Tensor<2>, Error> {
        let image = match source {
            "image" => self.current_image()?.0,
            "example" => {
                self.example.borrow().clone().ok_or_else(|| Error::Prompt("no example image is set".into()))?
            }
            other => return Err(Error::Prompt(format!("unknown visual prompt source \"{other}\""))),
        };
        let region = match visual_box {
            Some(corners) => Some(Region::Box(
                corners.try_into().map_err(|_| Error::Prompt("a box is four numbers: x0, y0, x1, y1".into()))?,
            )),
            None => None,
        };
        self.segmenter.embed_visual_prompt(&image, region.as_ref())
    }

    fn segment(&self, prompts: &[String], visual: Option<&str>, visual_box: Option<Vec<f32>>, mix: Option<f32>) -> Result<Tensor<3>, Error> {
        let (_, encoded) = self.current_image()?;
        if prompts.is_empty() && visual.is_none() {
            return Err(Error::Prompt("nothing to segment: give a text prompt or a visual prompt".into()));
        }
        if visual.is_none() && visual_box.is_some() {
            return Err(Error::Prompt("a box needs a visual prompt source".into()));
        }
        let texts = if prompts.is_empty() { None } else { Some(self.embed_texts(prompts)?) };
        let visual = visual.map(|source| self.embed_visual(source, visual_box)).transpose()?;
        let conditionals = match (texts, visual, mix) {
            (Some(texts), Some(visual), Some(mix)) => {
                if !(0.0..=1.0).contains(&mix) {
                    return Err(Error::Prompt(format!("mix must be within 0 and 1, got {mix}")));
                }
                let count = prompts.len();
                let visual = visual.expand([count, self.segmenter.config().projection_dim]);
                mix_conditionals(&[(texts, 1.0 - mix), (visual, mix)])?
            }
            (_, _, Some(_)) => return Err(Error::Prompt("mix needs text prompts and a visual prompt".into())),
            (texts, visual, None) => stack_conditionals(texts.into_iter().chain(visual).collect()),
        };
        Ok(self.segmenter.decode(&encoded, conditionals))
    }
}
