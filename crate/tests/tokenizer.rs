//! Token ids identical to `transformers.CLIPTokenizer` on a varied corpus (fixtures/tokenizer_cases.json).

mod common;

use clipseg::model_dir::BUNDLED_TOKENIZER;
use clipseg::tokenizer::{ClipTokenizer, MAX_TOKENS};

#[test]
fn ids_match_the_reference_tokenizer() {
    let tokenizer = ClipTokenizer::from_bytes(BUNDLED_TOKENIZER).unwrap();
    let cases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(common::fixtures().join("tokenizer_cases.json")).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 50, "the corpus has {} prompts", cases.len());
    let mut mismatches = Vec::new();
    let mut truncated = 0;
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let ids = tokenizer.encode(text).unwrap();
        if ids != expected {
            mismatches.push(format!("{text:?}\n  got      {ids:?}\n  expected {expected:?}"));
        }
        truncated += usize::from(expected.len() == MAX_TOKENS);
    }
    assert!(truncated > 0, "the corpus must include prompts over {MAX_TOKENS} tokens");
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), cases.len(), mismatches.join("\n"));
}

#[test]
fn long_prompts_keep_the_end_token() {
    let tokenizer = ClipTokenizer::from_bytes(BUNDLED_TOKENIZER).unwrap();
    let ids = tokenizer.encode(&"word ".repeat(200)).unwrap();
    assert_eq!(ids.len(), MAX_TOKENS);
    assert_eq!((ids[0], ids[MAX_TOKENS - 1]), (49406, 49407));
}
