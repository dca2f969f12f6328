//! Replays the fuzz targets' committed seeds (`fuzz/corpus/<target>/`) and every input that once
//! crashed one (`fuzz/regressions/<target>/`) through the targets' own bodies, on stable Rust:
//! a fix that regresses fails here, in `cargo test`, without nightly or cargo-fuzz.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every committed input of `target`; there must be some, or the test would pass vacuously.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut inputs = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            inputs.push((path, bytes));
        }
    }
    assert!(!inputs.is_empty(), "no seeds for the fuzz target {target}");
    inputs
}

fn replay(target: &str, body: fn(&[u8])) {
    for (path, bytes) in inputs(target) {
        // The file name says which input panicked.
        eprintln!("{target}: {}", path.display());
        body(&bytes);
    }
}

macro_rules! replays {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target), harness::$target);
            }
        )*
    };
}

replays!(image, tokenizer, tokenizer_json, config, weights_safetensors, weights_pytorch, region, coco, rle, yolo);

/// The weights targets start from complete, loadable models (f32, the compact f16 copy, int8, and
/// PyTorch's format), so their mutations explore the checks past the header, not just its parser.
#[test]
fn weights_seeds_load_into_the_fuzz_model() {
    use burn::tensor::Device;
    use clipseg::model::ClipSeg;
    use clipseg::{ClipSegConfig, WeightsSource};

    let config = ClipSegConfig::from_json(include_str!("../../fuzz/weights/config.json")).unwrap();
    let corpus = fuzz_dir().join("corpus");
    let sources = [
        WeightsSource::SafetensorsBytes(std::fs::read(corpus.join("weights_safetensors/tiny_f32.safetensors")).unwrap()),
        WeightsSource::SafetensorsBytes(std::fs::read(corpus.join("weights_safetensors/tiny_f16_compact.safetensors")).unwrap()),
        WeightsSource::SafetensorsBytes(std::fs::read(corpus.join("weights_safetensors/tiny_int8.safetensors")).unwrap()),
        WeightsSource::PytorchFile(corpus.join("weights_pytorch/tiny.bin")),
    ];
    for source in sources {
        let mut model = ClipSeg::new(&config, &Device::flex()).unwrap();
        clipseg::weights::load_weights(&mut model, source).unwrap();
    }
}

/// Writes the weights targets' safetensors seeds: the tiny fuzz model (`fuzz/weights/config.json`)
/// as f32, as the compact f16 copy and in the int8 format, under the checkpoint's names, each checked to load.
/// (`fuzz/make_pytorch_seed.py` turns the f32 one into the `pytorch_model.bin` seed.) Run with
/// `cargo test --test fuzz_corpus -- --ignored write_weights_seeds`.
#[test]
#[ignore = "regenerates committed seeds"]
fn write_weights_seeds() {
    use burn::tensor::Device;
    use clipseg::model::ClipSeg;
    use clipseg::model_dir::{weights_bytes, Storage};
    use clipseg::{ClipSegConfig, WeightsSource};

    let config = ClipSegConfig::from_json(include_str!("../../fuzz/weights/config.json")).unwrap();
    let model = ClipSeg::new(&config, &Device::flex()).unwrap();
    let out = fuzz_dir().join("corpus/weights_safetensors");
    // The int8 copy has int8 matrices in it: the MLPs' second layers have rows of 16.
    let seeds = [("tiny_f32.safetensors", Storage::F32), ("tiny_f16_compact.safetensors", Storage::F16), ("tiny_int8.safetensors", Storage::Int8)];
    for (name, storage) in seeds {
        let bytes = weights_bytes(&model, storage).unwrap();
        let mut loaded = ClipSeg::new(&config, &Device::flex()).unwrap();
        clipseg::weights::load_weights(&mut loaded, WeightsSource::SafetensorsBytes(bytes.clone())).unwrap();
        std::fs::write(out.join(name), bytes).unwrap();
    }
    let int8 = std::fs::read(out.join("tiny_int8.safetensors")).unwrap();
    let stored = safetensors::SafeTensors::deserialize(&int8).unwrap();
    assert!(stored.iter().any(|(_, view)| view.dtype() == safetensors::Dtype::I8));
}
