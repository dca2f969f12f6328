//! The fuzz targets' bodies, one function per input kind. Each takes the fuzzer's bytes, feeds
//! them to the crate the way a file or the browser would, and accepts any `Error` — but a panic,
//! a hang or an unbounded allocation is a bug. `fuzz_targets/*.rs` call these; the stable test
//! `crate/tests/fuzz_corpus.rs` includes this file and replays the committed seeds and every
//! regression input through the same functions.

use std::sync::OnceLock;

use burn::tensor::Device;
use clipseg::labels::{Dataset, Rle, yolo};
use clipseg::model::ClipSeg;
use clipseg::tokenizer::{ClipTokenizer, MAX_TOKENS};
use clipseg::visual_prompt::engineered_prompt;
use clipseg::{ClipSegConfig, Region, WeightsSource};

/// Images, RLEs and masks are drawn only up to this many pixels: the targets look for bugs, not
/// for how long a legitimately huge image takes.
const MAX_DRAWN_PIXELS: u64 = 1 << 16;

/// Reads fixed-size values off the front of the fuzzer's bytes (zeros once they run out), so
/// every input, however short, means something.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    /// Any bit pattern: NaN, infinities, subnormals and negative zero included.
    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.take())
    }

    fn rest(&mut self) -> &[u8] {
        std::mem::take(&mut self.0)
    }
}

/// `decode_image`: any file the CLI or the browser is handed.
pub fn image(data: &[u8]) {
    if let Ok(image) = clipseg::imaging::decode_image(data) {
        assert!(image.width() > 0 && image.height() > 0, "decode_image returned an empty image");
    }
}

fn bundled_tokenizer() -> &'static ClipTokenizer {
    static TOKENIZER: OnceLock<ClipTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        ClipTokenizer::from_bytes(clipseg::model_dir::BUNDLED_TOKENIZER).expect("the bundled tokenizer loads")
    })
}

/// Prompt text through the bundled CLIP tokenizer: at most 77 ids, always ending with the end
/// token (long prompts are cut before it).
pub fn tokenizer(data: &[u8]) {
    let tokenizer = bundled_tokenizer();
    let text = String::from_utf8_lossy(data);
    if let Ok(ids) = tokenizer.encode(&text) {
        assert!(ids.len() <= MAX_TOKENS, "{} ids for {text:?}", ids.len());
        assert_eq!(ids.last(), Some(&tokenizer.pad_id()), "no end token for {text:?}");
    }
}

/// A model directory's own `tokenizer.json`, then a prompt through it.
pub fn tokenizer_json(data: &[u8]) {
    if let Ok(tokenizer) = ClipTokenizer::from_bytes(data) {
        let _ = tokenizer.encode("a photo of a cat");
    }
}

/// `config.json`, then the architecture it describes (before any weight is read, as
/// `Segmenter::from_parts` does).
pub fn config(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else { return };
    let Ok(config) = ClipSegConfig::from_json(json) else { return };
    let _ = config.logits_size();
    let _ = ClipSeg::new(&config, &Device::flex());
}

/// The architecture of `fuzz/weights/config.json`: a complete CLIPSeg (refined head) a few
/// hundred parameters large, so mutations land in a weights file's header and shapes rather
/// than in its numbers.
fn tiny_model() -> ClipSeg {
    static CONFIG: OnceLock<ClipSegConfig> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        ClipSegConfig::from_json(include_str!("../weights/config.json")).expect("the fuzz config is valid")
    });
    ClipSeg::new(config, &Device::flex()).expect("the fuzz config builds")
}

/// A `model.safetensors` (f32, or the compact f16 copy) loaded into the tiny model, as the
/// browser loads weights from memory.
pub fn weights_safetensors(data: &[u8]) {
    let _ = clipseg::weights::load_weights(&mut tiny_model(), WeightsSource::SafetensorsBytes(data.to_vec()));
}

/// A `pytorch_model.bin` loaded into the tiny model. burn reads PyTorch files from a path only,
/// so the bytes go through a scratch file of this thread's own.
pub fn weights_pytorch(data: &[u8]) {
    let path = std::env::temp_dir().join(format!(
        "clipseg-fuzz-{}-{:?}.bin",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, data).expect("the scratch weights file is writable");
    let _ = clipseg::weights::load_weights(&mut tiny_model(), WeightsSource::PytorchFile(path.clone()));
    let _ = std::fs::remove_file(&path);
}

/// A visual prompt's region — a box of any four floats, or a mask whose size may not match —
/// checked against an image of any size; a region that passes must make a prompt of finite
/// pixels on a small image.
pub fn region(data: &[u8]) {
    let mut input = Input(data);
    let shape = input.u8();
    let (image_w, image_h) = (input.u32() % 4096, input.u32() % 4096);
    let region = if shape & 1 == 0 {
        Region::Box([input.f32(), input.f32(), input.f32(), input.f32()])
    } else {
        let (width, height) = (u32::from(input.u8() % 64), u32::from(input.u8() % 64));
        // Either exactly width × height values or as many as the input has bits.
        let bits = input.rest();
        let count = if shape & 2 == 0 { (width * height) as usize } else { bits.len() * 8 };
        let data = (0..count).map(|i| bits.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1)).collect();
        Region::Mask { width, height, data }
    };
    if region.validate(image_w, image_h).is_err() || u64::from(image_w * image_h) > MAX_DRAWN_PIXELS {
        return;
    }
    let picture = image::RgbImage::from_fn(image_w, image_h, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8]));
    let size = 1 + usize::from(shape >> 2) % 48;
    // A region valid at the model's input size may still vanish at this smaller one.
    if let Ok(pixels) = engineered_prompt(&picture, &region, size) {
        assert_eq!(pixels.len(), 3 * size * size);
        assert!(pixels.iter().all(|p| p.is_finite()), "a non-finite prompt pixel for {region:?}");
    }
}

/// COCO import as the labelling page does it (`importCoco`): parse and check, then every
/// annotation as an RLE with its area and box, and the dataset written back.
pub fn coco(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else { return };
    let Ok(dataset) = Dataset::from_json(json) else { return };
    for annotation in &dataset.annotations {
        if let Ok(rle) = dataset.annotation_rle(annotation) {
            check_rle(&rle);
        }
    }
    let _ = dataset.to_json();
}

/// Compressed RLE strings (or count lists) for an image of any size: a valid one must survive
/// the round trip through the string, and its area, box and crop must agree with its mask.
pub fn rle(data: &[u8]) {
    let mut input = Input(data);
    let form = input.u8();
    let (height, width) = (input.u32(), input.u32());
    let rest = input.rest();
    let parsed = if form & 1 == 0 {
        let Ok(counts) = std::str::from_utf8(rest) else { return };
        Rle::from_compressed(height, width, counts)
    } else {
        let counts = rest.chunks(4).map(|c| Input(c).u32()).collect();
        Rle::from_counts(height, width, counts)
    };
    if let Ok(rle) = parsed {
        check_rle(&rle);
    }
}

fn check_rle(rle: &Rle) {
    let pixels = u64::from(rle.height) * u64::from(rle.width);
    let area = rle.area();
    assert!(area <= pixels, "area {area} on {pixels} pixels");
    let [x, y, w, h] = rle.bbox();
    assert!(u64::from(x) + u64::from(w) <= u64::from(rle.width) && u64::from(y) + u64::from(h) <= u64::from(rle.height));
    let compressed = rle.to_compressed();
    assert_eq!(Rle::from_compressed(rle.height, rle.width, &compressed).as_ref(), Ok(rle), "{compressed:?}");
    if pixels <= MAX_DRAWN_PIXELS {
        let mask = rle.decode();
        assert_eq!(mask.area(), area);
        let (crop, [cx, cy, cw, ch]) = rle.cropped_mask();
        assert_eq!(crop.area(), area);
        assert_eq!([cx, cy, cw, ch], [x, y, w, h]);
    }
}

/// One line of a YOLO segmentation label on an image of any size.
pub fn yolo(data: &[u8]) {
    let mut input = Input(data);
    let (width, height) = (input.u32(), input.u32());
    let Ok(text) = std::str::from_utf8(input.rest()) else { return };
    if let Ok((_, polygon)) = yolo::parse_line(text, width, height) {
        assert!(polygon.len() >= 3, "a polygon of {} points from {text:?}", polygon.len());
    }
}
