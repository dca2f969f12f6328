//! Loading Hugging Face weights (`model.safetensors`, `pytorch_model.bin`, or the compact f16 copy)
//! into the model by name, with every problem reported as an error that names the tensor.

#[cfg(not(target_arch = "wasm32"))]
use std::fmt::Display;

use burn::store::burn_pack::Tensor as PackTensor;
#[cfg(not(target_arch = "wasm32"))]
use burn::store::{ModuleStore, SafetensorsStore};
use burn::store::{
    bridge, ApplyError, ApplyResult, FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleContext, ModuleSnapshot,
    PyTorchToBurnAdapter,
};
use burn::tensor::{BoolStore, Bytes, DType, Shape, TensorData};

use safetensors::{Dtype, SafeTensors};

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
    PyTorchLayout.chain(HalfToF32).chain(FloatCastAdapter::to(DType::F32))
}

/// f16 storage (the compact copy, what `clipseg fetch` writes) to f32, a whole tensor at a time
/// with [`f16_bits_to_f32`]; burn's cast converts one element at a time through `half`'s
/// branching software conversion, 30 % of loading the f16 model in the browser. Other dtypes
/// pass on to [`FloatCastAdapter`].
#[derive(Clone)]
struct HalfToF32;

impl ModuleAdapter for HalfToF32 {
    fn adapt(&self, tensor: PackTensor, _ctx: ModuleContext<'_>) -> PackTensor {
        if tensor.dtype != DType::F16 {
            return tensor;
        }
        let (name, shape) = (tensor.name.clone(), tensor.shape.clone());
        bridge::map_data(tensor, name, DType::F32, shape, |data| {
            let (halves, rest) = data.as_bytes().as_chunks::<2>();
            debug_assert!(rest.is_empty());
            let floats: Vec<f32> = halves.iter().map(|&bytes| f16_bits_to_f32(u16::from_le_bytes(bytes))).collect();
            TensorData::new(floats, data.shape().clone())
        })
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// An IEEE half's bits as the f32 of the same value, exactly (subnormals, infinities and NaNs
/// included), without branches so the loop vectorises: the exponent and mantissa bits moved into
/// f32 position read as the value × 2⁻¹¹², which one multiply by 2¹¹² rescales; a value that
/// lands at or above 2¹⁶ had the all-ones exponent, so it becomes an infinity or NaN again.
#[inline]
fn f16_bits_to_f32(bits: u16) -> f32 {
    let rescale = f32::from_bits((254 - 15) << 23); // 2^112
    let was_inf_or_nan = f32::from_bits((127 + 16) << 23); // 2^16
    let magnitude = f32::from_bits(((bits & 0x7fff) as u32) << 13) * rescale;
    let magnitude = if magnitude >= was_inf_or_nan { f32::from_bits(magnitude.to_bits() | (255 << 23)) } else { magnitude };
    f32::from_bits(magnitude.to_bits() | (((bits & 0x8000) as u32) << 16))
}

/// [`PyTorchToBurnAdapter`] with its Linear-weight transpose done in cache-sized tiles:
/// burn-store's copies one element at a time through a byte slice, which was 60 % of loading the
/// full model in the browser (2.5 s in all).
#[derive(Clone)]
struct PyTorchLayout;

impl ModuleAdapter for PyTorchLayout {
    fn adapt(&self, tensor: PackTensor, ctx: ModuleContext<'_>) -> PackTensor {
        // "Struct:Linear": the name burn's Module derive gives `nn::Linear` (what burn-store keys on).
        let linear_weight = ctx.module_type() == Some("Struct:Linear")
            && tensor.name.rsplit('.').next() == Some("weight")
            && tensor.shape.len() == 2
            && matches!(tensor.dtype.size(), 1 | 2 | 4 | 8)
            && !matches!(tensor.dtype, DType::QFloat(_));
        if !linear_weight {
            return PyTorchToBurnAdapter.adapt(tensor, ctx);
        }
        let (name, dtype) = (tensor.name.clone(), tensor.dtype);
        let shape = Shape::new([tensor.shape[1], tensor.shape[0]]);
        bridge::map_data(tensor, name, dtype, shape, transposed)
    }

    fn get_alternative_param_name(&self, param_name: &str, module_type: &str) -> Option<String> {
        PyTorchToBurnAdapter.get_alternative_param_name(param_name, module_type)
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// A 2-D tensor's data transposed (any element of 1, 2, 4 or 8 bytes). The result is built as
/// elements of its width, not bytes: burn re-copies byte vectors into aligned memory, which was a
/// fifth of building the model in wasm.
fn transposed(data: TensorData) -> TensorData {
    let [rows, cols] = [data.shape()[0], data.shape()[1]];
    let dtype = data.dtype();
    let bytes = data.as_bytes();
    let out = match dtype.size() {
        1 => Bytes::from_elems(transpose_tiles::<u8, 1>(bytes, rows, cols)),
        2 => Bytes::from_elems(transpose_tiles::<u16, 2>(bytes, rows, cols)),
        4 => Bytes::from_elems(transpose_tiles::<u32, 4>(bytes, rows, cols)),
        8 => Bytes::from_elems(transpose_tiles::<u64, 8>(bytes, rows, cols)),
        size => unreachable!("PyTorchLayout only transposes 1-8 byte elements, not {size}"),
    };
    TensorData::from_bytes(out, vec![cols, rows], dtype)
}

/// `rows × cols` elements of `N` bytes (`T`'s width), row-major, transposed tile by tile so both
/// the reads and the writes stay within a few cache lines.
fn transpose_tiles<T: bytemuck::Pod, const N: usize>(bytes: &[u8], rows: usize, cols: usize) -> Vec<T> {
    const TILE: usize = 32;
    let (source, rest) = bytes.as_chunks::<N>();
    assert!(rest.is_empty() && source.len() == rows * cols, "a {rows}×{cols} tensor of {N}-byte elements");
    let mut elements = vec![T::zeroed(); rows * cols];
    let out: &mut [[u8; N]] = bytemuck::cast_slice_mut(&mut elements);
    for row_tile in (0..rows).step_by(TILE) {
        for col_tile in (0..cols).step_by(TILE) {
            for row in row_tile..(row_tile + TILE).min(rows) {
                for col in col_tile..(col_tile + TILE).min(cols) {
                    out[col * rows + row] = source[row * cols + col];
                }
            }
        }
    }
    elements
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
            let tensors = safetensors_tensors(bytes, &origin)?;
            report(model.apply(remapper.remap(tensors).0, None, Some(Box::new(adapter())), false), &origin)
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
    let tensors = safetensors_tensors(bytes, origin)?;
    let tensors = key_remapper(Naming::FromHf).remap(tensors).0;
    report(model.apply(tensors, None, Some(Box::new(dequantize.chain(adapter()))), false), origin)
}

/// The tensors of a safetensors file in memory, each read when the model takes it with one copy
/// into memory of its element type. burn-store's reader copies each tensor twice (out of the file,
/// then again into aligned memory), which was a third of building the model in the browser.
fn safetensors_tensors(bytes: Vec<u8>, origin: &str) -> Result<Vec<PackTensor>, Error> {
    let file = std::sync::Arc::new(bytes);
    let stored = SafeTensors::deserialize(&file).map_err(|e| Error::weights(format!("cannot read {origin}: {e}")))?;
    let base = file.as_ptr() as usize;
    stored
        .iter()
        .map(|(name, view)| {
            let dtype = burn_dtype(view.dtype())
                .ok_or_else(|| Error::weights(format!("tensor `{name}` in {origin} is {:?}, a type burn cannot load", view.dtype())))?;
            // Where the tensor's bytes are in the file (the view borrows them from it).
            let start = view.data().as_ptr() as usize - base;
            let range = start..start + view.data().len();
            let shape = Shape::from(view.shape().to_vec());
            let (file, shape_of_data) = (file.clone(), shape.clone());
            Ok(bridge::deferred(name.to_string(), dtype, shape, None, move || {
                let data = &file[range.clone()];
                let elements = match dtype.size() {
                    1 => Bytes::from_elems(data.to_vec()),
                    2 => Bytes::from_elems(bytemuck::pod_collect_to_vec::<u8, u16>(data)),
                    4 => Bytes::from_elems(bytemuck::pod_collect_to_vec::<u8, u32>(data)),
                    _ => Bytes::from_elems(bytemuck::pod_collect_to_vec::<u8, u64>(data)),
                };
                Ok(TensorData::from_bytes(elements, shape_of_data.clone(), dtype))
            }))
        })
        .collect()
}

/// The burn type of a safetensors element type: the ones burn-store's reader (which this one
/// replaces for files in memory) accepts, so the same checkpoints load.
fn burn_dtype(dtype: Dtype) -> Option<DType> {
    Some(match dtype {
        Dtype::F64 => DType::F64,
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        Dtype::I64 => DType::I64,
        Dtype::I32 => DType::I32,
        Dtype::I16 => DType::I16,
        Dtype::I8 => DType::I8,
        Dtype::U64 => DType::U64,
        Dtype::U32 => DType::U32,
        Dtype::U8 => DType::U8,
        Dtype::BOOL => DType::Bool(BoolStore::Native),
        _ => return None,
    })
}

#[cfg(not(target_arch = "wasm32"))]
fn apply<S>(model: &mut ClipSeg, mut store: S, origin: &str) -> Result<(), Error>
where
    S: ModuleStore,
    S::Error: Display,
{
    let result = model
        .load_from(&mut store)
        .map_err(|e| Error::weights(format!("cannot read {origin}: {e}")))?;
    report(result, origin)
}

/// What applying the tensors to the model found: an error naming the first problem, or a
/// missing tensor.
fn report(result: ApplyResult, origin: &str) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-memory reader (what the browser loads through) fills every parameter exactly as
    /// burn-store's file reader does, for f32 weights and for the compact f16 copy.
    #[test]
    fn bytes_and_file_load_the_same_parameters() {
        use burn::tensor::Device;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny-refined");
        let config = crate::ClipSegConfig::from_json(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
        let device = Device::flex();
        let f32_file = std::fs::read(dir.join("model.safetensors")).unwrap();
        let f16_file = crate::model_dir::weights_bytes(
            &{
                let mut model = ClipSeg::new(&config, &device).unwrap();
                load_weights(&mut model, WeightsSource::SafetensorsBytes(f32_file.clone())).unwrap();
                model
            },
            crate::model_dir::Storage::F16,
        )
        .unwrap();
        let parameters = |source: WeightsSource| {
            let mut model = ClipSeg::new(&config, &device).unwrap();
            load_weights(&mut model, source).unwrap();
            model.collect(None, None, false).iter().map(|t| (t.name.clone(), bridge::to_data(t).unwrap())).collect::<Vec<_>>()
        };
        let scratch = std::env::temp_dir().join(format!("clipseg-weights-{}.safetensors", std::process::id()));
        for bytes in [f32_file, f16_file] {
            std::fs::write(&scratch, &bytes).unwrap();
            let from_file = parameters(WeightsSource::SafetensorsFile(scratch.clone()));
            let from_bytes = parameters(WeightsSource::SafetensorsBytes(bytes));
            assert!(!from_file.is_empty() && from_file.len() == from_bytes.len());
            for ((name, a), (_, b)) in from_file.iter().zip(&from_bytes) {
                assert_eq!(a, b, "{name}");
            }
        }
        std::fs::remove_file(scratch).unwrap();
    }

    /// Every one of the 65 536 halves converts as `half` converts it (NaNs: to a NaN).
    #[test]
    fn f16_bits_to_f32_is_exact_for_every_half() {
        for bits in 0..=u16::MAX {
            let expected = half::f16::from_bits(bits).to_f32();
            let got = f16_bits_to_f32(bits);
            if expected.is_nan() {
                assert!(got.is_nan(), "{bits:#06x}");
            } else {
                assert_eq!(got.to_bits(), expected.to_bits(), "{bits:#06x}");
            }
        }
    }

    /// Shapes that are not multiples of the tile, in 4- and 2-byte elements: each element lands
    /// where a plain transpose puts it.
    #[test]
    fn transposed_moves_every_element_to_its_transposed_place() {
        for (rows, cols) in [(37, 70), (1, 5), (64, 32), (33, 1)] {
            let values: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let expected: Vec<f32> = (0..cols).flat_map(|c| (0..rows).map(move |r| (r * cols + c) as f32)).collect();
            let out = transposed(TensorData::new(values.clone(), [rows, cols]));
            assert_eq!(out.shape().to_vec(), vec![cols, rows]);
            assert_eq!(out.try_to_vec::<f32>().unwrap(), expected);

            let halves: Vec<half::f16> = values.iter().map(|&v| half::f16::from_f32(v)).collect();
            let out = transposed(TensorData::new(halves, [rows, cols]));
            assert_eq!(out.dtype(), DType::F16);
            let back: Vec<f32> = out.try_to_vec::<half::f16>().unwrap().iter().map(|v| v.to_f32()).collect();
            let rounded: Vec<f32> = expected.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect();
            assert_eq!(back, rounded);
        }
    }
}
