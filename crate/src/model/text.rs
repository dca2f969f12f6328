//! CLIP's text tower: causal transformer, final LayerNorm, pooled at the end-of-text token.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::layer::{Encoder, LayerShape};
use crate::config::TextConfig;
use crate::Error;

#[derive(Module, Debug)]
pub struct TextEmbeddings {
    pub token_embedding: Embedding,
    pub position_embedding: Embedding,
}

#[derive(Module, Debug)]
pub struct TextTransformer {
    pub embeddings: TextEmbeddings,
    pub encoder: Encoder,
    pub final_layer_norm: LayerNorm,
    pub eos_token_id: u32,
}

/// HF's legacy `eos_token_id` that selects pooling at the largest token id.
const LEGACY_EOS_TOKEN_ID: u32 = 2;

/// The position HF pools at: the (first) largest id for legacy configs (the end-of-text token is
/// the largest id), otherwise the first occurrence of `eos_token_id` (0 when absent).
fn pooled_position(ids: &[u32], eos_token_id: u32) -> usize {
    let first_max = |best: (usize, u32), (i, &id): (usize, &u32)| if id > best.1 { (i, id) } else { best };
    if eos_token_id == LEGACY_EOS_TOKEN_ID {
        ids.iter().enumerate().fold((0, 0), first_max).0
    } else {
        ids.iter().position(|&id| id == eos_token_id).unwrap_or(0)
    }
}

impl TextTransformer {
    pub fn new(config: &TextConfig, device: &Device) -> Result<Self, Error> {
        let shape = LayerShape {
            width: config.hidden_size,
            heads: config.num_attention_heads,
            mlp_width: config.intermediate_size,
            activation: config.activation()?,
            layer_norm_eps: config.layer_norm_eps,
        };
        Ok(Self {
            embeddings: TextEmbeddings {
                token_embedding: EmbeddingConfig::new(config.vocab_size, config.hidden_size).init(device),
                position_embedding: EmbeddingConfig::new(config.max_position_embeddings, config.hidden_size)
                    .init(device),
            },
            encoder: Encoder::new(&shape, config.num_hidden_layers, device),
            final_layer_norm: LayerNormConfig::new(config.hidden_size)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            eos_token_id: config.eos_token_id,
        })
    }

    /// Token ids (each sequence already padded to a common length with tokens that come after its
    /// end token, so the causal mask keeps them out) → pooled features [batch, width].
    pub fn forward(&self, ids: &[Vec<u32>], device: &Device) -> Tensor<2> {
        let batch = ids.len();
        let tokens = ids[0].len();
        let flat: Vec<i64> = ids.iter().flatten().map(|&id| id as i64).collect();
        let ids_tensor = Tensor::<2, Int>::from_data(TensorData::new(flat, [batch, tokens]), device);
        let positions = Tensor::<1, Int>::arange(0..tokens as i64, device).unsqueeze::<2>();
        let mut x = self.embeddings.token_embedding.forward(ids_tensor)
            + self.embeddings.position_embedding.forward(positions);
        for layer in &self.encoder.layers {
            x = layer.forward_pre_norm(x, true);
        }
        let x = self.final_layer_norm.forward(x);
        let width = x.dims()[2];
        let rows: Vec<i64> = ids.iter().enumerate().map(|(b, seq)| (b * tokens + pooled_position(seq, self.eos_token_id)) as i64).collect();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(rows, [batch]), device);
        x.reshape([batch * tokens, width]).select(0, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::pooled_position;

    #[test]
    fn legacy_eos_pools_at_the_first_largest_id() {
        // Start 49406, words, end 49407, padding with 49407: the first end token.
        assert_eq!(pooled_position(&[49406, 320, 2368, 49407, 49407, 49407], 2), 3);
        // Whatever the ids, the first maximum (HF's argmax).
        assert_eq!(pooled_position(&[5, 9, 1, 9], 2), 1);
        assert_eq!(pooled_position(&[7], 2), 0);
    }

    #[test]
    fn other_eos_pools_at_its_first_occurrence() {
        // A larger id after the end token does not matter.
        assert_eq!(pooled_position(&[49406, 320, 49407, 49408, 49407], 49407), 2);
        assert_eq!(pooled_position(&[1, 4, 3, 3], 3), 2);
        // Absent: position 0, as HF's `(ids == eos).int().argmax()`.
        assert_eq!(pooled_position(&[1, 4, 5], 3), 0);
    }
}
