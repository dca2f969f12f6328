//! The int8 weights format (`clipseg convert --dtype int8`): a copy of each fixture model in it
//! gives masks that agree with the f32 model's on at least 99% of the pixels, for text and
//! visual prompts, on every image of the fixtures.

mod common;

use clipseg::imaging::{decode_image, sigmoid};
use clipseg::model_dir::{ModelDir, Storage};
use clipseg::{PromptImage, Prompts, Region, Segmenter, VisualPrompt};
use common::*;

/// Logits of the fixture prompts (and one box on the image itself) on `image`.
fn logits(segmenter: &Segmenter, prompts: &Prompts, image: &image::RgbImage) -> Vec<f32> {
    let encoded = segmenter.encode_image(image.clone());
    read(segmenter.segment(&encoded, prompts).expect("valid prompts")).1
}

fn check(config: &str) {
    check_dir(&fixtures().join(config));
}

fn check_dir(dir: &std::path::Path) {
    let config = dir.file_name().unwrap().to_string_lossy();
    let reference = Reference::load_dir(dir);
    let f32_model = Segmenter::from_dir(&reference.dir, &cpu()).unwrap();
    let copy = tempfile::tempdir().unwrap();
    let ModelDir { config_json, tokenizer_json, .. } = ModelDir::read(&reference.dir).unwrap();
    f32_model.save_dir(&config_json, &tokenizer_json, copy.path(), Storage::Int8).unwrap();

    let weights = std::fs::read(copy.path().join("model.safetensors")).unwrap();
    assert!(clipseg::int8::is_int8(&weights), "{config}: the copy is marked int8");
    let stored = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let int8_matrices = stored.iter().filter(|(_, view)| view.dtype() == safetensors::Dtype::I8).count();
    assert!(int8_matrices >= 8, "{config}: only {int8_matrices} int8 matrices");
    let original = ["model.safetensors", "pytorch_model.bin"]
        .iter()
        .find_map(|name| std::fs::metadata(reference.dir.join(name)).ok())
        .unwrap()
        .len();
    eprintln!("{config}: int8 weights {} bytes, {:.3} of the f32 file", weights.len(), weights.len() as f64 / original as f64);
    let int8_model = Segmenter::from_dir(copy.path(), &cpu()).unwrap();

    let prompts = Prompts {
        texts: reference.strings("prompts").iter().map(|p| p.as_str().into()).collect(),
        visual: Some(VisualPrompt { image: PromptImage::Query, region: Some(Region::Box([40.0, 60.0, 200.0, 220.0])) }),
        ..Prompts::default()
    };
    let stems = [reference.strings("images_352"), reference.strings("images_other")].concat();
    assert!(!stems.is_empty());
    for stem in stems {
        let image = decode_image(&std::fs::read(reference.image_path(&stem)).unwrap()).unwrap();
        let expected = logits(&f32_model, &prompts, &image);
        let actual = logits(&int8_model, &prompts, &image);
        assert_eq!(actual.len(), expected.len());
        let same = actual.iter().zip(&expected).filter(|(a, e)| (sigmoid(**a) > 0.5) == (sigmoid(**e) > 0.5)).count();
        let agreement = same as f64 / expected.len() as f64;
        let error = relative_l2(&actual, &expected);
        eprintln!("{config} {stem}: masks agree on {:.3}%, logits relative L2 {error:.2e}", agreement * 100.0);
        assert!(agreement >= 0.99, "{config} {stem}: int8 masks agree on {:.2}% of pixels", agreement * 100.0);
    }
}

#[test]
fn tiny_refined_masks_agree_with_f32() {
    check("tiny-refined");
}

#[test]
fn tiny_plain_masks_agree_with_f32() {
    check("tiny-plain");
}

#[test]
fn tiny_patch32_masks_agree_with_f32() {
    check("tiny-patch32");
}

/// The full-size architecture (random weights, not committed; see `full_size_cpu` in parity.rs).
/// `cargo test --release --test int8 -- --ignored --nocapture` prints each image's agreement.
#[test]
#[ignore = "needs models/clipseg-full-random (see README)"]
fn full_size_masks_agree_with_f32() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/clipseg-full-random");
    assert!(dir.join("reference.safetensors").is_file(), "run scripts/make_fixtures.py --full {}", dir.display());
    check_dir(&dir);
}

/// A matrix whose scales are missing or do not fit is refused when the model loads, naming it.
#[test]
fn broken_scales_are_refused_by_name() {
    let reference = Reference::load("tiny-refined");
    let model = Segmenter::from_dir(&reference.dir, &cpu()).unwrap();
    let copy = tempfile::tempdir().unwrap();
    let config_json = std::fs::read_to_string(reference.dir.join("config.json")).unwrap();
    let tokenizer_json = std::fs::read(reference.dir.join("tokenizer.json")).unwrap();
    model.save_dir(&config_json, &tokenizer_json, copy.path(), Storage::Int8).unwrap();
    let weights = std::fs::read(copy.path().join("model.safetensors")).unwrap();
    let stored = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let victim = "clip.vision_model.encoder.layers.0.mlp.fc1.weight";
    assert_eq!(stored.tensor(victim).unwrap().dtype(), safetensors::Dtype::I8);
    // The same file with that matrix's scales dropped, then with one scale too few.
    let rewrite = |scales: Option<Vec<f32>>| {
        let mut kept: Vec<(String, safetensors::tensor::TensorView<'_>)> =
            stored.tensors().into_iter().filter(|(name, _)| name != &format!("{victim}_scale")).collect();
        let bytes: Vec<u8> = scales.iter().flatten().flat_map(|s| s.to_le_bytes()).collect();
        let data: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if let Some(scales) = &scales {
            kept.push((format!("{victim}_scale"), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![scales.len()], data).unwrap()));
        }
        let metadata = stored_metadata(&weights);
        safetensors::serialize(kept, Some(metadata)).unwrap()
    };
    for (broken, needle) in [(rewrite(None), "has no"), (rewrite(Some(vec![1.0; 3])), "one per row")] {
        let error = Segmenter::from_parts(&config_json, clipseg::WeightsSource::SafetensorsBytes(broken), &tokenizer_json, &cpu())
            .err()
            .expect("refused");
        assert_eq!(error.kind(), clipseg::ErrorKind::Weights, "{error}");
        assert!(error.to_string().contains(victim) && error.to_string().contains(needle), "{error}");
    }
}

fn stored_metadata(weights: &[u8]) -> std::collections::HashMap<String, String> {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(weights).unwrap();
    metadata.metadata().clone().unwrap()
}
