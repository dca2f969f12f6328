//! The int8 weights format: half the download of the compact f16 copy. Every weight matrix with
//! rows of 16 or more (the Linear layers, the token and position embedding tables) is stored as
//! `I8` with one f32 scale per row (`<name>_scale`, symmetric: `w ≈ q · scale`, `|q| ≤ 127`); everything else stays f16.
//! Loading turns the int8 rows back into f32, so every backend computes as with f16 weights.
//! Names and layouts are the checkpoint's (PyTorch), like the other formats.

use std::collections::HashMap;
use std::sync::Arc;

use burn::store::bridge::map_data;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ModuleAdapter, ModuleContext};
use burn::tensor::{DType, TensorData};
use half::f16;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::Error;

/// The suffix of the tensor that holds a matrix's row scales.
const SCALE_SUFFIX: &str = "_scale";

/// Rows shorter than this stay f16: their scale would cost more than int8 saves.
const MIN_ROW_LEN: usize = 16;

/// The `__metadata__` entry that marks the format.
const FORMAT_KEY: &str = "clipseg_format";
const FORMAT: &str = "int8-per-row";

/// Whether a stored tensor is quantized: a weight matrix (Linear layers, the embedding tables)
/// with rows of at least [`MIN_ROW_LEN`]; biases, norms and convolutions stay f16.
fn quantizes(name: &str, shape: &[usize]) -> bool {
    matches!(shape, [_, row_len] if *row_len >= MIN_ROW_LEN) && name.ends_with("weight")
}

/// One matrix row by row: the int8 values and each row's scale.
fn quantize_rows(values: &[f32], row_len: usize) -> (Vec<i8>, Vec<f32>) {
    let mut quantized = Vec::with_capacity(values.len());
    let mut scales = Vec::with_capacity(values.len() / row_len.max(1));
    for row in values.chunks(row_len) {
        let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
        scales.push(scale);
        quantized.extend(row.iter().map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8));
    }
    (quantized, scales)
}

/// A tensor's values as f32, from any float storage.
fn float_values(view: &TensorView<'_>) -> Result<Vec<f32>, Error> {
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Dtype::F16 => data.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        Dtype::BF16 => data.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        other => return Err(Error::weights(format!("cannot quantize a tensor stored as {other:?}"))),
    })
}

/// A safetensors file (f32, f16 or bf16, checkpoint names) → its int8 copy.
pub fn quantize(safetensors: &[u8]) -> Result<Vec<u8>, Error> {
    let file = SafeTensors::deserialize(safetensors).map_err(|e| Error::weights(format!("cannot read the weights: {e}")))?;
    let mut stored: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in file.tensors() {
        let shape = view.shape().to_vec();
        if !matches!(view.dtype(), Dtype::F32 | Dtype::F16 | Dtype::BF16) {
            stored.push((name, view.dtype(), shape, view.data().to_vec()));
            continue;
        }
        let values = float_values(&view)?;
        if quantizes(&name, &shape) {
            let (quantized, scales) = quantize_rows(&values, shape[1]);
            let bytes = quantized.iter().map(|&q| q as u8).collect();
            stored.push((format!("{name}{SCALE_SUFFIX}"), Dtype::F32, vec![shape[0]], scales.iter().flat_map(|s| s.to_le_bytes()).collect()));
            stored.push((name, Dtype::I8, shape, bytes));
        } else {
            stored.push((name, Dtype::F16, shape, values.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect()));
        }
    }
    let views = stored
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|view| (name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::weights(format!("cannot write the int8 weights: {e}")))?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string()), (FORMAT_KEY.to_string(), FORMAT.to_string())]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| Error::weights(format!("cannot write the int8 weights: {e}")))
}

/// Whether a safetensors header (the file's first bytes, at least up to the end of its header)
/// marks the int8 format.
pub fn is_int8(safetensors: &[u8]) -> bool {
    // Read by hand: the safetensors crate checks the header against the whole file's length.
    let Some((length, rest)) = safetensors.split_first_chunk::<8>() else { return false };
    let Some(header) = usize::try_from(u64::from_le_bytes(*length)).ok().and_then(|n| rest.get(..n)) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(header)
        .is_ok_and(|header| header["__metadata__"][FORMAT_KEY].as_str() == Some(FORMAT))
}

/// Turns the int8 matrices of a file in that format back into f32 as the model loads them.
#[derive(Clone)]
pub struct Dequantize {
    /// Row scales by matrix name.
    scales: Arc<HashMap<String, Arc<Vec<f32>>>>,
}

impl Dequantize {
    /// The scales of every int8 matrix in `safetensors`, each checked against its matrix, so
    /// that dequantizing cannot fail later.
    pub fn from_file(safetensors: &[u8]) -> Result<Self, Error> {
        let file = SafeTensors::deserialize(safetensors).map_err(|e| Error::weights(format!("cannot read the int8 weights: {e}")))?;
        let mut scales = HashMap::new();
        for (name, view) in file.iter() {
            if view.dtype() != Dtype::I8 {
                continue;
            }
            let [rows, _] = view.shape() else {
                return Err(Error::weights(format!("int8 tensor `{name}` is not a matrix: shape {:?}", view.shape())));
            };
            let scale_name = format!("{name}{SCALE_SUFFIX}");
            let scale = file
                .tensor(&scale_name)
                .map_err(|_| Error::weights(format!("int8 tensor `{name}` has no `{scale_name}`")))?;
            if scale.dtype() != Dtype::F32 || scale.shape() != [*rows] {
                return Err(Error::weights(format!(
                    "`{scale_name}` must be {rows} f32 values (one per row of `{name}`), not {:?} {:?}",
                    scale.dtype(),
                    scale.shape()
                )));
            }
            let values: Vec<f32> = float_values(&scale)?;
            if let Some(bad) = values.iter().find(|s| !s.is_finite()) {
                return Err(Error::weights(format!("`{scale_name}` holds the scale {bad}")));
            }
            scales.insert(name.to_string(), Arc::new(values));
        }
        Ok(Self { scales: Arc::new(scales) })
    }
}

impl ModuleAdapter for Dequantize {
    fn adapt(&self, tensor: PackTensor, _ctx: ModuleContext<'_>) -> PackTensor {
        // Only 2-D weights are quantized, and for those the model's path is the stored name.
        let Some(scales) = (tensor.dtype == DType::I8).then(|| self.scales.get(&tensor.name)).flatten() else {
            return tensor;
        };
        let scales = Arc::clone(scales);
        let (name, shape) = (tensor.name.clone(), tensor.shape.clone());
        let row_len = shape.get(1).copied().unwrap_or(1).max(1);
        map_data(tensor, name, DType::F32, shape.clone(), move |data| {
            // Row by row over the stored bytes: a tight loop the compiler vectorises (the
            // element-wise `TensorData::iter` costed the full model 0.6 s more per load).
            let dequantize = |quantized: &[i8]| {
                let mut values = Vec::with_capacity(quantized.len());
                for (row, &scale) in quantized.chunks(row_len).zip(scales.iter()) {
                    values.extend(row.iter().map(|&q| f32::from(q) * scale));
                }
                values
            };
            let values = match data.as_slice::<i8>() {
                Ok(quantized) => dequantize(quantized),
                Err(_) => dequantize(&data.iter::<i8>().collect::<Vec<_>>()),
            };
            TensorData::new(values, shape.clone())
        })
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_within_half_a_step() {
        let row_len = 300;
        let values: Vec<f32> = (0..3 * row_len).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let mut values = values;
        values[row_len..2 * row_len].iter_mut().for_each(|v| *v *= 1e-3); // a row of small weights
        values[2 * row_len..].iter_mut().for_each(|v| *v = 0.0); // and one of zeros
        let (quantized, scales) = quantize_rows(&values, row_len);
        assert_eq!(scales.len(), 3);
        for (i, (&v, &q)) in values.iter().zip(&quantized).enumerate() {
            let scale = scales[i / row_len];
            assert!((v - f32::from(q) * scale).abs() <= scale / 2.0 + f32::EPSILON, "{v} vs {q}×{scale}");
        }
        assert!(scales[1] < scales[0] / 100.0, "each row has its own scale");
        assert!(quantized[2 * row_len..].iter().all(|&q| q == 0));
    }
}
