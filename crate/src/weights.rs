//! Loading Hugging Face weights (`model.safetensors`, `pytorch_model.bin`, or the compact f16 copy)
//! into the model by name, with every problem reported as an error that names the tensor.

use std::fmt::Display;

use burn::store::{
    ApplyError, FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter,
    SafetensorsStore,
};
use burn::tensor::DType;

use crate::model::ClipSeg;
use crate::{int8, Error};

/// Where the weights come from.
pub enum WeightsSource {
    /// A safetensors file on disk (f32, f16 or bf16).
    #[cfg(not(target_arch = "wasm32"))]
    SafetensorsFile(std::path::PathBuf),
    /// A PyTorch `pytorch_model.bin` (zip of pickled tensors) on disk.
    #[cfg(not(target_arch = "wasm32"))]
    PytorchFile(std::path::PathBuf),
    /// A safetensors file in memory (how the browser loads the compact model).
    SafetensorsBytes(Vec<u8>),
}

impl WeightsSource {
    fn describe(&self) -> String {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Self::SafetensorsFile(path) | Self::PytorchFile(path) => path.display().to_string(),
            Self::SafetensorsBytes(_) => "the safetensors weights".to_string(),
        }
    }
}

/// Checkpoint names (HF's `nn.Sequential` indices of the refined head, and the plain head) and
/// ours, as prefixes of `weight`/`bias` parameters.
const HF_NAMES: [(&str, &str); 4] = [
    ("decoder.transposed_convolution.0.", "decoder.refined_head.conv."),
    ("decoder.transposed_convolution.2.", "decoder.refined_head.upsample1."),
    ("decoder.transposed_convolution.4.", "decoder.refined_head.upsample2."),
    ("decoder.transposed_convolution.", "decoder.plain_head."),
];

/// Which way [`key_remapper`] renames.
#[derive(Clone, Copy)]
pub(crate) enum Naming {
    /// Checkpoint names to the model's (loading).
    FromHf,
    /// The model's names to the checkpoint's (saving).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    ToHf,
}

/// The renaming between checkpoint and model names: whole names only (`<prefix>weight` and
/// `<prefix>bias`), so no rule applies to another's output.
pub(crate) fn key_remapper(naming: Naming) -> KeyRemapper {
    HF_NAMES.iter().fold(KeyRemapper::new(), |remapper, &(hf, ours)| {
        let (from, to) = match naming {
            Naming::FromHf => (hf, ours),
            Naming::ToHf => (ours, hf),
        };
        remapper
            .add_pattern(format!("^{}(weight|bias)$", regex_escape(from)), format!("{to}$1"))
            .expect("valid pattern")
    })
}

/// `.` is the only regex metacharacter in these names.
fn regex_escape(name: &str) -> String {
    name.replace('.', r"\.")
}

/// PyTorch layout to burn's (Linear weights transposed, LayerNorm renamed), and any float
/// storage (the compact f16 copy included) upcast to f32 so every backend computes in f32.
fn adapter() -> impl ModuleAdapter + 'static {
    PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32))
}

/// Fills `model`'s parameters from `source`. Every tensor the architecture needs must be present
/// with the shape the config implies; tensors the model does not use (`logit_scale`, buffers)
/// are ignored.
pub fn load_weights(model: &mut ClipSeg, source: WeightsSource) -> Result<(), Error> {
    let origin = source.describe();
    let remapper = key_remapper(Naming::FromHf);
    match source {
        // The int8 format is dequantized from memory (its scales are read first).
        #[cfg(not(target_arch = "wasm32"))]
        WeightsSource::SafetensorsFile(path) if file_is_int8(&path)? => {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(format!("cannot read {origin}: {e}")))?;
            load_int8(model, bytes, &origin)
        }
        #[cfg(not(target_arch = "wasm32"))]
        WeightsSource::SafetensorsFile(path) => {
            let store = SafetensorsStore::from_file(path).with_from_adapter(adapter()).remap(remapper);
            apply(model, store.validate(false).allow_partial(true), &origin)
        }
        #[cfg(not(target_arch = "wasm32"))]
        WeightsSource::PytorchFile(path) => {
            let store = burn::store::PytorchStore::from_file(path).remap(remapper);
            apply(model, store.validate(false).allow_partial(true), &origin)
        }
        WeightsSource::SafetensorsBytes(bytes) if int8::is_int8(&bytes) => load_int8(model, bytes, &origin),
        WeightsSource::SafetensorsBytes(bytes) => {
            let store = SafetensorsStore::from_bytes(Some(bytes)).with_from_adapter(adapter()).remap(remapper);
            apply(model, store.validate(false).allow_partial(true), &origin)
        }
    }
}

/// Whether a safetensors file on disk is in the int8 format (read from its header only).
#[cfg(not(target_arch = "wasm32"))]
fn file_is_int8(path: &std::path::Path) -> Result<bool, Error> {
    use std::io::Read;
    let cannot = |e: std::io::Error| Error::io(format!("cannot read {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mut length = [0u8; 8];
    if file.read_exact(&mut length).is_err() {
        return Ok(false); // too short for any safetensors file: the store's reader says so
    }
    // The header is JSON that names every tensor: a few hundred kB at most for CLIPSeg.
    let header_len = u64::from_le_bytes(length).min(16 << 20);
    let mut header = length.to_vec();
    file.take(header_len).read_to_end(&mut header).map_err(cannot)?;
    Ok(int8::is_int8(&header))
}

fn load_int8(model: &mut ClipSeg, bytes: Vec<u8>, origin: &str) -> Result<(), Error> {
    let dequantize = int8::Dequantize::from_file(&bytes).map_err(|e| e.context(origin))?;
    let store = SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(dequantize.chain(adapter()))
        .remap(key_remapper(Naming::FromHf));
    apply(model, store.validate(false).allow_partial(true), origin)
}

fn apply<S>(model: &mut ClipSeg, mut store: S, origin: &str) -> Result<(), Error>
where
    S: ModuleStore,
    S::Error: Display,
{
    let result = model
        .load_from(&mut store)
        .map_err(|e| Error::weights(format!("cannot read {origin}: {e}")))?;
    if let Some(error) = result.errors.first() {
        let message = match error {
            ApplyError::ShapeMismatch { path, expected, found } => format!(
                "tensor `{path}` in {origin} has shape {:?}, but config.json implies {:?}",
                found.as_slice(),
                expected.as_slice()
            ),
            other => format!("{origin}: {other}"),
        };
        let more = result.errors.len() - 1;
        let tail = if more > 0 { format!(" (and {more} more problems)") } else { String::new() };
        return Err(Error::weights(format!("{message}{tail}")));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().take(3).map(|(path, _)| path.as_str()).collect();
        return Err(Error::weights(format!(
            "{origin} lacks {} tensors this CLIPSeg config needs, e.g. {} — is it a CLIPSeg checkpoint matching config.json?",
            result.missing.len(),
            names.join(", ")
        )));
    }
    Ok(())
}
