//! CLIP's vision tower (ViT) with position embeddings resized to the input's patch grid.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Tensor, TensorData};

use super::layer::{Encoder, LayerShape};
use crate::config::VisionConfig;
use crate::Error;

#[derive(Module, Debug)]
pub struct VisionEmbeddings {
    pub patch_embedding: Conv2d,
    pub class_embedding: Param<Tensor<1>>,
    /// `(1 + grid²) × width`, learnt on the training resolution's grid.
    pub position_embedding: Embedding,
    pub trained_grid: usize,
}

impl VisionEmbeddings {
    /// Pixels [batch, channels, H, W] → tokens [batch, 1 + (H/p)(W/p), width], class token first.
    pub fn forward(&self, pixels: Tensor<4>) -> Tensor<3> {
        let patches = self.patch_embedding.forward(pixels);
        let [batch, width, rows, cols] = patches.dims();
        let patches = patches.reshape([batch, width, rows * cols]).swap_dims(1, 2);
        let class = self.class_embedding.val().reshape([1, 1, width]).expand([batch, 1, width]);
        Tensor::cat(vec![class, patches], 1) + self.positions(rows, cols).unsqueeze::<3>()
    }

    /// Position embeddings for a `rows × cols` patch grid: the trained grid resized bicubically
    /// (align_corners = false) as HF does, the class position kept as it is. The resize is two
    /// matmuls with interpolation matrices: the same numbers as `interpolate`, but kernels every
    /// WebGPU implementation runs well (SwiftShader stalls on burn's bicubic kernel).
    fn positions(&self, rows: usize, cols: usize) -> Tensor<2> {
        let table = self.position_embedding.weight.val();
        let grid = self.trained_grid;
        if rows == grid && cols == grid {
            return table;
        }
        let device = table.device();
        let [_, width] = table.dims();
        let class = table.clone().slice(0..1);
        let matrix = |to: usize| Tensor::<2>::from_data(TensorData::new(bicubic_matrix(grid, to), [to, grid]), &device);
        // Along y: [rows, grid] × [grid, grid · width].
        let patches = table.slice(1..).reshape([grid, grid * width]);
        let along_y = matrix(rows).matmul(patches).reshape([rows, grid, width]);
        // Along x, for every row at once: [rows, cols, grid] × [rows, grid, width].
        let along_x = matrix(cols).unsqueeze::<3>().expand([rows, cols, grid]).matmul(along_y);
        Tensor::cat(vec![class, along_x.reshape([rows * cols, width])], 0)
    }
}

/// PyTorch's bicubic interpolation from `from` to `to` samples (`align_corners = false`,
/// A = −0.75, taps beyond the border clamped to it) as a row-major `[to, from]` matrix.
fn bicubic_matrix(from: usize, to: usize) -> Vec<f32> {
    const A: f64 = -0.75;
    // Keys' cubic convolution kernel, for |x| ≤ 1 and for 1 < |x| < 2.
    let near = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let scale = from as f64 / to as f64;
    let mut matrix = vec![0.0f32; to * from];
    for out in 0..to {
        let source = (out as f64 + 0.5) * scale - 0.5;
        let base = source.floor();
        let t = source - base;
        let weights = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
        for (tap, weight) in weights.iter().enumerate() {
            let index = (base as i64 - 1 + tap as i64).clamp(0, from as i64 - 1) as usize;
            matrix[out * from + index] += *weight as f32;
        }
    }
    matrix
}

#[derive(Module, Debug)]
pub struct VisionTransformer {
    pub embeddings: VisionEmbeddings,
    pub pre_layrnorm: LayerNorm,
    pub encoder: Encoder,
    pub post_layernorm: LayerNorm,
}

impl VisionTransformer {
    pub fn new(config: &VisionConfig, device: &Device) -> Result<Self, Error> {
        let shape = LayerShape {
            width: config.hidden_size,
            heads: config.num_attention_heads,
            mlp_width: config.intermediate_size,
            activation: config.activation()?,
            layer_norm_eps: config.layer_norm_eps,
        };
        let grid = config.trained_grid();
        let norm = || LayerNormConfig::new(config.hidden_size).with_epsilon(config.layer_norm_eps).init(device);
        let patch = config.patch_size;
        Ok(Self {
            embeddings: VisionEmbeddings {
                patch_embedding: Conv2dConfig::new([config.num_channels, config.hidden_size], [patch, patch])
                    .with_stride([patch, patch])
                    .with_bias(false)
                    .init(device),
                class_embedding: Param::from_tensor(Tensor::zeros([config.hidden_size], device)),
                position_embedding: EmbeddingConfig::new(1 + grid * grid, config.hidden_size).init(device),
                trained_grid: grid,
            },
            pre_layrnorm: norm(),
            encoder: Encoder::new(&shape, config.num_hidden_layers, device),
            post_layernorm: norm(),
        })
    }

    /// Runs blocks `0..=last` and returns the output of each block in `keep` (in `keep`'s order).
    pub fn hidden_states(&self, pixels: Tensor<4>, keep: &[usize]) -> Vec<Tensor<3>> {
        let last = *keep.iter().max().expect("at least one layer to keep");
        let mut x = self.pre_layrnorm.forward(self.embeddings.forward(pixels));
        let mut kept = vec![None; keep.len()];
        for (index, layer) in self.encoder.layers.iter().enumerate().take(last + 1) {
            x = layer.forward_pre_norm(x, false);
            for (slot, _) in keep.iter().enumerate().filter(|(_, l)| **l == index) {
                kept[slot] = Some(x.clone());
            }
        }
        kept.into_iter().map(|t| t.expect("every kept layer ran")).collect()
    }

    /// The pooled image embedding: `post_layernorm` of the class token after every block.
    pub fn pooled(&self, pixels: Tensor<4>) -> Tensor<2> {
        let mut x = self.pre_layrnorm.forward(self.embeddings.forward(pixels));
        for layer in &self.encoder.layers {
            x = layer.forward_pre_norm(x, false);
        }
        let [batch, _, width] = x.dims();
        self.post_layernorm.forward(x.slice([0..batch, 0..1]).reshape([batch, width]))
    }
}

#[cfg(test)]
mod tests {
    use super::bicubic_matrix;

    /// Rows of PyTorch's matrix, read off `F.interpolate(torch.eye(from).reshape(1, from, from, 1),
    /// size=(to, 1), mode="bicubic", align_corners=False)` (torch 2.15, float32; the width-1 axis is
    /// the identity): row r is output sample r, column c the weight of input sample c.
    const TORCH_7_TO_11: [(usize, [f32; 7]); 4] = [
        (0, [1.0912848711013794, -0.09128475189208984, 0.0, 0.0, 0.0, 0.0, 0.0]),
        (1, [0.5510895848274231, 0.5334334969520569, -0.08452320098876953, 0.0, 0.0, 0.0, 0.0]),
        (5, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
        (10, [0.0, 0.0, 0.0, 0.0, 0.0, -0.09128475189208984, 1.0912845134735107]),
    ];

    fn assert_rows(from: usize, to: usize, rows: &[(usize, Vec<f32>)]) {
        let matrix = bicubic_matrix(from, to);
        for (row, expected) in rows {
            let actual = &matrix[row * from..(row + 1) * from];
            for (a, e) in actual.iter().zip(expected) {
                assert!((a - e).abs() <= 1e-6, "{from}→{to} row {row}: {actual:?} vs {expected:?}");
            }
        }
    }

    #[test]
    fn bicubic_matrix_matches_torch() {
        let rows: Vec<(usize, Vec<f32>)> = TORCH_7_TO_11.iter().map(|(r, v)| (*r, v.to_vec())).collect();
        assert_rows(7, 11, &rows);
        // 14 → 22 has the same scale: the same rows, zero-padded (torch gives exactly these).
        let widen = |v: &[f32; 7], at_end: bool| {
            let mut row = vec![0.0f32; 14];
            let offset = if at_end { 7 } else { 0 };
            row[offset..offset + 7].copy_from_slice(v);
            row
        };
        let rows = vec![
            (0, widen(&TORCH_7_TO_11[0].1, false)),
            (1, widen(&TORCH_7_TO_11[1].1, false)),
            (5, widen(&TORCH_7_TO_11[2].1, false)),
            (21, widen(&TORCH_7_TO_11[3].1, true)),
        ];
        assert_rows(14, 22, &rows);
    }

    #[test]
    fn bicubic_rows_sum_to_one_and_same_size_is_identity() {
        for (from, to) in [(7, 11), (14, 22), (14, 11), (22, 22)] {
            for row in bicubic_matrix(from, to).chunks(from) {
                assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{from}→{to}: {row:?}");
            }
        }
        let identity = bicubic_matrix(5, 5);
        for (i, v) in identity.iter().enumerate() {
            assert_eq!(*v, if i % 6 == 0 { 1.0 } else { 0.0 });
        }
    }
}
