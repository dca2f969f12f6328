//! Every part of the model against the reference implementation's outputs (fixtures made by
//! `scripts/make_fixtures.py` with `transformers`), on burn's CPU backend and on wgpu.

mod common;

use std::sync::Arc;

use burn::tensor::{Device, Tensor};
use clipseg::imaging::{decode_image, resize_plane, sigmoid};
use clipseg::visual_prompt::engineered_prompt;
use clipseg::{PromptImage, Prompts, Region, Segmenter, VisualPrompt};
use common::*;

/// Collects every mismatch of one configuration so a failure shows them all.
struct Checks {
    failures: Vec<String>,
    count: usize,
}

impl Checks {
    fn close(&mut self, what: &str, actual: &[f32], expected: &[f32]) {
        self.count += 1;
        let error = relative_l2(actual, expected);
        if !(error <= TOLERANCE) {
            self.failures.push(format!("{what}: relative L2 error {error:.3e} > {TOLERANCE:e}"));
        }
    }

    /// Masks at threshold 0.5 agree on at least 99.5% of the pixels.
    fn masks_agree(&mut self, what: &str, actual: &[f32], expected: &[f32]) {
        self.count += 1;
        assert_eq!(actual.len(), expected.len(), "{what}");
        let same = actual.iter().zip(expected).filter(|(a, e)| (sigmoid(**a) > 0.5) == (sigmoid(**e) > 0.5)).count();
        let agreement = same as f64 / expected.len() as f64;
        if agreement < 0.995 {
            self.failures.push(format!("{what}: masks agree on {:.2}% of pixels", agreement * 100.0));
        }
    }
}

fn load_image(reference: &Reference, stem: &str) -> image::RgbImage {
    decode_image(&std::fs::read(reference.image_path(stem)).unwrap()).unwrap()
}

/// Logits of `conditionals` on `image`, subsampled like the stored reference maps.
fn sampled_logits(reference: &Reference, segmenter: &Segmenter, image: &image::RgbImage, conditionals: Tensor<2>) -> Vec<f32> {
    let encoded = segmenter.encode_image(image.clone());
    let (dims, values) = read(segmenter.decode(&encoded, conditionals));
    subsample(&values, dims[2], dims[1], reference.sample())
}

/// Logits of `prompts` on `query` through the one pipeline ([`Segmenter::segment`]), subsampled.
fn segmented(reference: &Reference, segmenter: &Segmenter, query: &image::RgbImage, prompts: &Prompts) -> Vec<f32> {
    let encoded = segmenter.encode_image(query.clone());
    let (dims, values) = read(segmenter.segment(&encoded, prompts).expect("valid prompts"));
    assert_eq!(dims, [prompts.outputs(), segmenter.logits_size(), segmenter.logits_size()]);
    subsample(&values, dims[2], dims[1], reference.sample())
}

fn region_of(case: &serde_json::Value) -> Region {
    match (case.get("box"), case.get("mask")) {
        (Some(b), _) => {
            let b: Vec<f32> = b.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            Region::Box([b[0], b[1], b[2], b[3]])
        }
        (None, Some(file)) => {
            let path = fixtures().join("images").join(file.as_str().unwrap());
            Region::from_luma(&image::open(path).unwrap().into_luma8())
        }
        (None, None) => panic!("case {case} has no region"),
    }
}

/// The engineered prompt of `region` on `prompt_image` (stem `prompt`): its pixels and its
/// conditional against `visual_{kind}_pixels` / `visual_{kind}_conditional`.
fn check_engineered(
    checks: &mut Checks,
    reference: &Reference,
    segmenter: &Segmenter,
    kind: &str,
    prompt: &str,
    prompt_image: &image::RgbImage,
    region: &Region,
) {
    let size = segmenter.input_size();
    let pixels = engineered_prompt(prompt_image, region, size).unwrap();
    let name = format!("visual_{kind}_pixels.{prompt}");
    checks.close(&name, &subsample(&pixels, size, size, reference.sample()), &reference.f32(&name).1);
    let conditional = segmenter.embed_visual_prompt(prompt_image, Some(region)).unwrap();
    let name = format!("visual_{kind}_conditional.{prompt}");
    checks.close(&name, &read(conditional).1, &reference.f32(&name).1);
}

fn check_config(config: &str, device: Device) {
    check_dir(&fixtures().join(config), device);
}

fn check_dir(dir: &std::path::Path, device: Device) {
    let config = dir.display().to_string();
    let reference = Reference::load_dir(dir);
    let segmenter = Segmenter::from_dir(&reference.dir, &device).expect("fixture model loads");
    let mut checks = Checks { failures: Vec::new(), count: 0 };
    let logits_size = reference.cases["logits_size"].as_array().unwrap()[0].as_u64().unwrap() as usize;
    assert_eq!(segmenter.logits_size(), logits_size, "logits size from the config");

    // Tokens, then the text conditionals.
    let prompts = reference.strings("prompts");
    let texts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    for (prompt, padded) in texts.iter().zip(reference.ids("text_input_ids")) {
        let ids = segmenter.tokenize(prompt).unwrap();
        assert_eq!(ids[..], padded[..ids.len()], "ids of {prompt:?}");
    }
    let text = segmenter.embed_texts(&texts).unwrap();
    checks.close("text_conditional", &read(text.clone()).1, &reference.f32("text_conditional").1);

    // Images already at 352: the processor's resize is the identity, so logits must match.
    let extract = segmenter.config().extract_layers.len();
    for stem in reference.strings("images_352") {
        let image = load_image(&reference, &stem);
        let (_, hidden) = reference.f32(&format!("vision_hidden.{stem}"));
        let per_layer = hidden.len() / extract;
        for (k, activation) in segmenter.vision_activations(&image).iter().enumerate() {
            let expected = &hidden[k * per_layer..(k + 1) * per_layer];
            checks.close(&format!("vision_hidden.{stem}[{k}]"), &read(activation.clone()).1, expected);
        }
        let actual = segmented(&reference, &segmenter, &image, &Prompts { texts: prompts.iter().map(|p| p.as_str().into()).collect(), ..Prompts::default() });
        checks.close(&format!("text_logits.{stem}"), &actual, &reference.f32(&format!("text_logits.{stem}")).1);
    }

    // Other sizes go through the resize: compare masks, at model resolution and at image size.
    for stem in reference.strings("images_other") {
        let image = load_image(&reference, &stem);
        let encoded = segmenter.encode_image(image.clone());
        let (dims, values) = read(segmenter.decode(&encoded, text.clone()));
        let (prompts_n, height, width) = (dims[0], dims[1], dims[2]);
        let actual = subsample(&values, width, height, reference.sample());
        checks.masks_agree(&format!("text_logits.{stem}"), &actual, &reference.f32(&format!("text_logits.{stem}")).1);
        let name = format!("text_logits_orig.{stem}");
        if reference.has(&name) {
            let (expected_dims, expected) = reference.f32(&name);
            let (w, h) = (image.width() as usize, image.height() as usize);
            let at_image_size: Vec<f32> = values
                .chunks(width * height)
                .take(expected_dims[0].min(prompts_n))
                .flat_map(|map| resize_plane(map, width, height, w, h))
                .collect();
            checks.masks_agree(&name, &subsample(&at_image_size, w, h, reference.sample()), &expected);
        }
    }

    // Visual prompts. A prompt image in a lossy format decodes to slightly other pixels than
    // PIL's libjpeg-turbo gives (up to ±4 levels on a tenth of the values; every JPEG decoder
    // differs), so its results are compared as masks, like images of other sizes; lossless
    // prompt images must match exactly, resize included.
    let lossless = |stem: &str| reference.image_path(stem).extension().is_some_and(|e| e == "png");

    // Visual prompt without a region: the plain image embedding.
    for pair in reference.cases["visual_plain"].as_array().into_iter().flatten() {
        let (query, prompt) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        let conditional = segmenter.embed_visual_prompt(&load_image(&reference, prompt), None).unwrap();
        let actual = sampled_logits(&reference, &segmenter, &load_image(&reference, query), conditional.clone());
        let name = format!("visual_plain_logits.{query}.{prompt}");
        if lossless(prompt) {
            let expected = reference.f32(&format!("visual_plain_conditional.{prompt}")).1;
            checks.close(&format!("visual_plain_conditional.{prompt}"), &read(conditional).1, &expected);
            checks.close(&name, &actual, &reference.f32(&name).1);
        } else {
            checks.masks_agree(&name, &actual, &reference.f32(&name).1);
        }
    }

    // Visual prompt with a box: the engineered prompt's pixels, its embedding, the logits.
    for case in reference.cases["visual_box"].as_array().into_iter().flatten() {
        let (query, prompt) = (case["query"].as_str().unwrap(), case["prompt_image"].as_str().unwrap());
        let region = region_of(case);
        let prompt_image = Arc::new(load_image(&reference, prompt));
        let visual = VisualPrompt { image: PromptImage::Other(prompt_image.clone()), region: Some(region.clone()) };
        let visual_only = Prompts { visual: Some(visual), ..Prompts::default() };
        let actual = segmented(&reference, &segmenter, &load_image(&reference, query), &visual_only);
        let logits_name = format!("visual_box_logits.{query}.{prompt}");
        if lossless(prompt) {
            check_engineered(&mut checks, &reference, &segmenter, "box", prompt, &prompt_image, &region);
            checks.close(&logits_name, &actual, &reference.f32(&logits_name).1);
        } else {
            checks.masks_agree(&logits_name, &actual, &reference.f32(&logits_name).1);
        }
    }

    // Visual prompt from a mask image (the paper's mask prompt): pixels, embedding, logits.
    for case in reference.cases["visual_mask"].as_array().into_iter().flatten() {
        let (query, prompt) = (case["query"].as_str().unwrap(), case["prompt_image"].as_str().unwrap());
        assert!(lossless(prompt), "mask prompts are on lossless images");
        let region = region_of(case);
        let prompt_image = Arc::new(load_image(&reference, prompt));
        check_engineered(&mut checks, &reference, &segmenter, "mask", prompt, &prompt_image, &region);
        // On the query image itself the prompt image is the encoded one.
        let image = if query == prompt { PromptImage::Query } else { PromptImage::Other(prompt_image) };
        let visual_only = Prompts { visual: Some(VisualPrompt { image, region: Some(region) }), ..Prompts::default() };
        let actual = segmented(&reference, &segmenter, &load_image(&reference, query), &visual_only);
        let name = format!("visual_mask_logits.{query}.{prompt}");
        checks.close(&name, &actual, &reference.f32(&name).1);
    }

    // Text prompts mixed with a visual prompt: one output per text prompt.
    for case in reference.cases["mix"].as_array().into_iter().flatten() {
        let (query, prompt) = (case["query"].as_str().unwrap(), case["prompt_image"].as_str().unwrap());
        let visual = VisualPrompt {
            image: PromptImage::Other(Arc::new(load_image(&reference, prompt))),
            region: Some(region_of(case)),
        };
        let mix = case["weight"].as_f64().unwrap() as f32;
        let mixed = Prompts { texts: prompts.iter().map(|p| p.as_str().into()).collect(), visual: Some(visual), mix: Some(mix) };
        let actual = segmented(&reference, &segmenter, &load_image(&reference, query), &mixed);
        let name = format!("mix_logits.{query}.{prompt}");
        if lossless(prompt) {
            checks.close(&name, &actual, &reference.f32(&name).1);
        } else {
            checks.masks_agree(&name, &actual, &reference.f32(&name).1);
        }
    }

    // At least the text conditional, every kept activation and the logits of one 352 image.
    let minimum = 1 + extract + 1;
    assert!(checks.count >= minimum, "{config}: only {} of at least {minimum} checks ran", checks.count);
    assert!(checks.failures.is_empty(), "{config}:\n{}", checks.failures.join("\n"));
}

#[test]
fn tiny_refined_cpu() {
    check_config("tiny-refined", cpu());
}

#[test]
fn tiny_plain_cpu() {
    check_config("tiny-plain", cpu());
}

#[test]
fn tiny_patch32_cpu() {
    check_config("tiny-patch32", cpu());
}

#[test]
fn tiny_refined_wgpu() {
    check_config("tiny-refined", wgpu());
}

#[test]
fn tiny_plain_wgpu() {
    check_config("tiny-plain", wgpu());
}

#[test]
fn tiny_patch32_wgpu() {
    check_config("tiny-patch32", wgpu());
}

/// The full-size architecture (random weights, 603 MB, not committed). Opt in with
/// `python scripts/make_fixtures.py --full models/clipseg-full-random` and
/// `cargo test --release --test parity -- --ignored`.
#[test]
#[ignore = "needs models/clipseg-full-random (see README)"]
fn full_size_cpu() {
    check_full(cpu());
}

#[test]
#[ignore = "needs models/clipseg-full-random (see README)"]
fn full_size_wgpu() {
    check_full(wgpu());
}

fn check_full(device: Device) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/clipseg-full-random");
    assert!(dir.join("reference.safetensors").is_file(), "run scripts/make_fixtures.py --full {}", dir.display());
    check_dir(&dir, device);
}
