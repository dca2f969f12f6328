//! The browser binding: a thin layer over [`Segmenter`] that the Web Worker (`www/worker.js`)
//! drives. It owns one model, the encoded current image and the example image of visual prompts,
//! and translates the worker's arguments into [`Prompts`]; every prompt rule lives in the core.
//!
//! Every error a method throws or rejects with is a JS `Error` whose `message` is for people and
//! whose `kind` is one of [`ErrorKind::as_str`]'s stable names, for code to branch on.
//!
//! Every result is read back with `into_data_async`: a synchronous read panics in the browser.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

#[cfg(feature = "gpu")]
use burn::tensor::wgpu::WgpuSetup;
use burn::tensor::Device;
use image::RgbImage;
use js_sys::{Float32Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::imaging::decode_image;
use crate::{EncodedImage, Error, PromptImage, Prompts, Region, Segmenter, TextPrompt, VisualPrompt, WeightsSource};

/// How many keyed encoded images a session keeps. Each holds its decoded picture (up to
/// 4096² RGB, 50 MB) and the vision tower's activations, so the cache stays small.
const ENCODED_IMAGES: usize = 4;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[cfg(feature = "gpu")]
thread_local! {
    /// burn's wgpu runtime can be initialised once per page; later sessions reuse its device.
    /// The setup stays alive with it: once its `wgpu::Instance` is dropped, the browser
    /// invalidates the device ("A valid external Instance reference no longer exists").
    static WEBGPU: RefCell<Option<(Device, WgpuSetup)>> = const { RefCell::new(None) };
}

/// A loaded model on one backend, with the image it segments.
#[wasm_bindgen]
pub struct Session {
    state: Rc<State>,
}

struct State {
    segmenter: Segmenter,
    backend: &'static str,
    /// The current image, encoded (it keeps the decoded picture for prompts on it).
    image: RefCell<Option<Rc<EncodedImage>>>,
    /// Images encoded under a key (a labelling page encodes the next images while the person
    /// works), most recently used last; at most [`ENCODED_IMAGES`].
    encoded: RefCell<Vec<(String, Rc<EncodedImage>)>>,
    /// The example image of visual prompts taken from another picture.
    example: RefCell<Option<Arc<RgbImage>>>,
}

/// A JS `Error` with the message, and the stable kind as its `kind` property.
pub(crate) fn js_error(error: Error) -> JsValue {
    let js = js_sys::Error::new(error.message());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &JsValue::from_str("kind"), &JsValue::from_str(error.kind().as_str()));
    js.into()
}

async fn device_for(backend: &str) -> Result<(Device, &'static str), Error> {
    match backend {
        "cpu" => Ok((Device::flex(), "cpu")),
        #[cfg(feature = "gpu")]
        "webgpu" => {
            if let Some((device, _)) = WEBGPU.with_borrow(Clone::clone) {
                return Ok((device, "webgpu"));
            }
            let (device, setup) = Device::wgpu_options()
                .init_with_setup_async()
                .await
                .map_err(|e| Error::backend(format!("WebGPU is not available: {e}")))?;
            WEBGPU.set(Some((device.clone(), setup)));
            Ok((device, "webgpu"))
        }
        #[cfg(not(feature = "gpu"))]
        "webgpu" => Err(Error::backend("this build of the module has no WebGPU backend (the threaded CPU one)")),
        other => Err(Error::backend(format!("unknown backend \"{other}\" (expected webgpu or cpu)"))),
    }
}

/// RGBA pixels (canvas `ImageData`) to RGB; alpha is dropped as PIL's `convert("RGB")` does.
fn rgb_from_rgba(rgba: &[u8], width: u32, height: u32) -> Result<RgbImage, Error> {
    if width == 0 || height == 0 || rgba.len() != 4 * width as usize * height as usize {
        return Err(Error::image(format!("{} bytes are not {width}×{height} RGBA pixels", rgba.len())));
    }
    let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    Ok(RgbImage::from_raw(width, height, rgb).expect("length checked"))
}

/// An image given as an encoded file (`bytes`) or as RGBA pixels (`rgba`, `width`, `height`).
fn image_from(bytes: Option<Vec<u8>>, rgba: Option<Vec<u8>>, width: u32, height: u32) -> Result<RgbImage, Error> {
    match (bytes, rgba) {
        (Some(bytes), _) => decode_image(&bytes),
        (None, Some(rgba)) => rgb_from_rgba(&rgba, width, height),
        (None, None) => Err(Error::usage("no image given: pass the file's bytes or RGBA pixels")),
    }
}

/// A burn read-back failure: the device failed.
fn device_error(error: impl std::fmt::Display) -> JsValue {
    js_error(Error::device(format!("cannot read the result from the device: {error}")))
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
            encoded: RefCell::new(Vec::new()),
            example: RefCell::new(None),
        };
        Ok(Session { state: Rc::new(state) })
    }

    /// The backend in use: "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.backend.to_string()
    }

    /// The model's square input side: every image and visual prompt is resized to it.
    #[wasm_bindgen(getter, js_name = inputSize)]
    pub fn input_size(&self) -> u32 {
        self.state.segmenter.input_size() as u32
    }

    /// Side of the square logits maps `segment` returns (from the config: 352 for the published
    /// checkpoints).
    #[wasm_bindgen(getter, js_name = logitsSize)]
    pub fn logits_size(&self) -> u32 {
        self.state.segmenter.logits_size() as u32
    }

    /// Decodes and encodes the image to segment (an image file's bytes, or RGBA pixels), and
    /// resolves once the vision tower has run, to `[width, height]`. With a `key`, the encoded
    /// image is also kept under it (see [`Session::encode`]).
    #[wasm_bindgen(js_name = setImage)]
    pub fn set_image(
        &self,
        bytes: Option<Vec<u8>>,
        rgba: Option<Vec<u8>>,
        width: u32,
        height: u32,
        key: Option<String>,
    ) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let image = image_from(bytes, rgba, width, height).map_err(js_error)?;
            // Drop the previous activations before computing new ones: they can be large.
            state.image.replace(None);
            let encoded = state.encode(image, key).await?;
            let size = size_of(&encoded);
            state.image.replace(Some(encoded));
            Ok(size)
        })
    }

    /// Decodes and encodes an image and keeps it under `key` without making it current (the
    /// least recently used of more than a few is dropped); resolves to `[width, height]`.
    pub fn encode(&self, key: String, bytes: Option<Vec<u8>>, rgba: Option<Vec<u8>>, width: u32, height: u32) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let image = image_from(bytes, rgba, width, height).map_err(js_error)?;
            let encoded = state.encode(image, Some(key)).await?;
            Ok(size_of(&encoded))
        })
    }

    /// Makes the image kept under `key` current; returns its `[width, height]`, or `undefined`
    /// when it is not kept (any more).
    #[wasm_bindgen(js_name = useImage)]
    pub fn use_image(&self, key: &str) -> Option<Vec<u32>> {
        let encoded = self.state.kept(key)?;
        let size = vec![encoded.width(), encoded.height()];
        self.state.image.replace(Some(encoded));
        Some(size)
    }

    /// Sets the example image of visual prompts that come from another picture.
    #[wasm_bindgen(js_name = setExample)]
    pub fn set_example(&self, bytes: Option<Vec<u8>>, rgba: Option<Vec<u8>>, width: u32, height: u32) -> Result<Vec<u32>, JsValue> {
        let image = image_from(bytes, rgba, width, height).map_err(js_error)?;
        let size = vec![image.width(), image.height()];
        self.state.example.replace(Some(Arc::new(image)));
        Ok(size)
    }

    /// Logits (before sigmoid) `[outputs, logitsSize, logitsSize]` of the current image, flattened.
    ///
    /// - `prompts`: text prompts, one output each: a string, or an array of phrasings whose
    ///   conditionals are averaged.
    /// - `visual`: `"image"` (the current image) or `"example"` (the example image) adds a visual
    ///   prompt. `visual_box` (`[x0, y0, x1, y1]` in that image's pixels) or `visual_mask` (one
    ///   byte per pixel of that image, row-major, nonzero on the object) selects the object,
    ///   otherwise the whole image is the prompt. A box or mask without `visual` is on the
    ///   current image.
    /// - `mix`: with both kinds, each text prompt's conditional becomes
    ///   `(1 - mix) · text + mix · visual` (one output per text prompt); without it the visual
    ///   prompt is one more output after the texts.
    pub fn segment(
        &self,
        prompts: Vec<JsValue>,
        visual: Option<String>,
        visual_box: Option<Vec<f32>>,
        mix: Option<f32>,
        visual_mask: Option<Vec<u8>>,
    ) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let texts = prompts.iter().map(text_prompt).collect::<Result<_, _>>().map_err(js_error)?;
            let logits = state.segment(texts, visual.as_deref(), visual_box, mix, visual_mask).map_err(js_error)?;
            let values = logits.into_data_async().await.map_err(device_error)?;
            let values = values.as_slice::<f32>().map_err(|e| device_error(format!("{e:?}")))?;
            Ok(Float32Array::from(values).into())
        })
    }
}

/// A text prompt from JS: a string, or an array of phrasings (strings).
fn text_prompt(value: &JsValue) -> Result<TextPrompt, Error> {
    if let Some(text) = value.as_string() {
        return Ok(text.into());
    }
    let not_text = || Error::usage("a text prompt is a string or an array of strings (its phrasings)");
    let phrasings = value.dyn_ref::<js_sys::Array>().ok_or_else(not_text)?;
    let phrasings = phrasings.iter().map(|p| p.as_string().ok_or_else(not_text)).collect::<Result<_, _>>()?;
    Ok(TextPrompt::new(phrasings))
}

fn size_of(encoded: &EncodedImage) -> JsValue {
    js_sys::Array::of2(&encoded.width().into(), &encoded.height().into()).into()
}

impl State {
    /// Runs the vision tower on `image`; with a `key`, keeps the result under it.
    async fn encode(&self, image: RgbImage, key: Option<String>) -> Result<Rc<EncodedImage>, JsValue> {
        let encoded = self.segmenter.encode_image(image);
        // Reading one value waits for the encode and surfaces any device error here.
        encoded.probe().into_data_async().await.map_err(device_error)?;
        let encoded = Rc::new(encoded);
        if let Some(key) = key {
            let mut kept = self.encoded.borrow_mut();
            kept.retain(|(k, _)| *k != key);
            if kept.len() == ENCODED_IMAGES {
                kept.remove(0);
            }
            kept.push((key, encoded.clone()));
        }
        Ok(encoded)
    }

    /// The image kept under `key`, now the most recently used.
    fn kept(&self, key: &str) -> Option<Rc<EncodedImage>> {
        let mut kept = self.encoded.borrow_mut();
        let at = kept.iter().position(|(k, _)| k == key)?;
        let entry = kept.remove(at);
        let encoded = entry.1.clone();
        kept.push(entry);
        Some(encoded)
    }

    fn segment(
        &self,
        texts: Vec<TextPrompt>,
        visual: Option<&str>,
        visual_box: Option<Vec<f32>>,
        mix: Option<f32>,
        visual_mask: Option<Vec<u8>>,
    ) -> Result<burn::tensor::Tensor<3>, Error> {
        let encoded = self.image.borrow().clone().ok_or_else(|| Error::usage("no image is set: choose an image first"))?;
        let image = match visual {
            None | Some("image") => PromptImage::Query,
            Some("example") => PromptImage::Other(
                self.example.borrow().clone().ok_or_else(|| Error::usage("no example image is set"))?,
            ),
            Some(other) => {
                return Err(Error::usage(format!("unknown visual prompt source \"{other}\" (expected image or example)")));
            }
        };
        let region = match (visual_box, visual_mask) {
            (Some(_), Some(_)) => return Err(Error::prompt("give a box or a mask, not both")),
            (Some(corners), None) => Some(Region::Box(
                corners.try_into().map_err(|_| Error::prompt("a box is four numbers: x0, y0, x1, y1"))?,
            )),
            (None, Some(bytes)) => {
                let picture = match &image {
                    PromptImage::Query => encoded.image(),
                    PromptImage::Other(picture) => picture,
                };
                Some(Region::from_bytes(picture.width(), picture.height(), &bytes))
            }
            (None, None) => None,
        };
        let visual = (visual.is_some() || region.is_some()).then_some(VisualPrompt { image, region });
        self.segmenter.segment(&encoded, &Prompts { texts, visual, mix })
    }
}
