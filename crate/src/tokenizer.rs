//! CLIP's byte-level BPE through the `tokenizers` crate and the checkpoint's `tokenizer.json`.

use tokenizers::Tokenizer;

use crate::Error;

/// CLIP's context length: longer prompts are cut, keeping the end token.
pub const MAX_TOKENS: usize = 77;

pub struct ClipTokenizer {
    inner: Tokenizer,
    end_of_text: u32,
}

impl ClipTokenizer {
    pub fn from_bytes(json: &[u8]) -> Result<Self, Error> {
        // Parsed as JSON first: tokenizers panics (rather than erring) on some malformed
        // `decoder` sections, and a checked JSON value never reaches that path.
        let value: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| Error::tokenizer(format!("tokenizer.json is not valid JSON: {e}")))?;
        let inner: Tokenizer = serde_json::from_value(value)
            .map_err(|e| Error::tokenizer(format!("tokenizer.json is not a valid tokenizer: {e}")))?;
        let end_of_text = inner
            .token_to_id("<|endoftext|>")
            .ok_or_else(|| Error::tokenizer("tokenizer.json has no <|endoftext|> token"))?;
        Ok(Self { inner, end_of_text })
    }

    /// Ids with the start and end tokens, at most [`MAX_TOKENS`] of them.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Error> {
        let encoding = self
            .inner
            .encode(text, true)
            .map_err(|e| Error::tokenizer(format!("cannot tokenize {text:?}: {e}")))?;
        let mut ids = encoding.get_ids().to_vec();
        if ids.len() > MAX_TOKENS {
            ids.truncate(MAX_TOKENS - 1);
            ids.push(self.end_of_text);
        }
        Ok(ids)
    }

    /// The id HF pads batches with (the end token): padding after the end token is invisible to
    /// the causal text tower.
    pub fn pad_id(&self) -> u32 {
        self.end_of_text
    }
}
