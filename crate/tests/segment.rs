//! The one prompt pipeline (`Segmenter::segment`): its rules, the order of its outputs, mixing,
//! and the per-prompt text cache, with the error kinds callers branch on.

mod common;

use std::sync::Arc;

use clipseg::imaging::decode_image;
use clipseg::{ErrorKind, PromptImage, Prompts, Region, Segmenter, TextPrompt, VisualPrompt};
use common::*;

fn setup() -> (Reference, Segmenter, image::RgbImage, Arc<image::RgbImage>) {
    let reference = Reference::load("tiny-refined");
    let segmenter = Segmenter::from_dir(&reference.dir, &cpu()).unwrap();
    let load = |stem: &str| decode_image(&std::fs::read(reference.image_path(stem)).unwrap()).unwrap();
    let (query, example) = (load("coffee_352"), Arc::new(load("chelsea")));
    (reference, segmenter, query, example)
}

fn texts(list: &[&str]) -> Vec<TextPrompt> {
    list.iter().map(|&s| s.into()).collect()
}

#[test]
fn invalid_prompts_are_prompt_errors() {
    let (_, segmenter, query, example) = setup();
    let encoded = segmenter.encode_image(query);
    let visual = || Some(VisualPrompt { image: PromptImage::Other(example.clone()), region: None });
    let cases = [
        ("nothing", Prompts::default()),
        ("empty", Prompts { texts: texts(&["a cat", "  "]), ..Prompts::default() }),
        ("empty", Prompts { texts: vec![TextPrompt::new(vec![])], ..Prompts::default() }),
        ("empty", Prompts { texts: vec![TextPrompt::new(vec!["a cat".into(), "".into()])], ..Prompts::default() }),
        ("mix", Prompts { texts: texts(&["a cat"]), mix: Some(0.5), ..Prompts::default() }),
        ("mix", Prompts { visual: visual(), mix: Some(0.5), ..Prompts::default() }),
        ("mix", Prompts { texts: texts(&["a cat"]), visual: visual(), mix: Some(1.5) }),
        ("mix", Prompts { texts: texts(&["a cat"]), visual: visual(), mix: Some(f32::NAN) }),
        (
            "outside",
            Prompts {
                visual: Some(VisualPrompt { image: PromptImage::Query, region: Some(Region::Box([300.0, 0.0, 400.0, 10.0])) }),
                ..Prompts::default()
            },
        ),
        (
            "mask",
            Prompts {
                visual: Some(VisualPrompt { image: PromptImage::Query, region: Some(Region::from_bytes(451, 300, &[1; 451 * 300])) }),
                ..Prompts::default()
            },
        ),
        (
            "values",
            Prompts {
                visual: Some(VisualPrompt { image: PromptImage::Query, region: Some(Region::from_bytes(352, 352, &[1; 10])) }),
                ..Prompts::default()
            },
        ),
    ];
    for (needle, prompts) in cases {
        let error = segmenter.segment(&encoded, &prompts).expect_err(needle);
        assert_eq!(error.kind(), ErrorKind::Prompt, "{error}");
        assert_eq!(error.kind().as_str(), "prompt");
        assert!(error.to_string().contains(needle), "{error:?} lacks {needle:?}");
    }
    assert_eq!(segmenter.cached_texts(), 0, "nothing is embedded before the prompts are valid");
}

#[test]
fn outputs_are_texts_then_visual_and_mix_is_linear() {
    let (_, segmenter, query, example) = setup();
    let encoded = segmenter.encode_image(query);
    let words = texts(&["a cat", "a cup"]);
    let visual = Some(VisualPrompt { image: PromptImage::Other(example), region: Some(Region::Box([128.0, 78.0, 212.0, 152.0])) });
    let run = |prompts: &Prompts| read(segmenter.segment(&encoded, prompts).unwrap());
    let (dims, both) = run(&Prompts { texts: words.clone(), visual: visual.clone(), mix: None });
    let side = segmenter.logits_size();
    assert_eq!(dims, [3, side, side]);
    let (_, text_only) = run(&Prompts { texts: words.clone(), ..Prompts::default() });
    let (_, visual_only) = run(&Prompts { visual: visual.clone(), ..Prompts::default() });
    let plane = side * side;
    assert!(relative_l2(&both[..2 * plane], &text_only) <= TOLERANCE);
    assert!(relative_l2(&both[2 * plane..], &visual_only) <= TOLERANCE);

    // The decoder is not linear, but mixing the conditionals is: at W = 0 and W = 1 the outputs
    // are the text prompts' and (per text prompt) the visual prompt's.
    let (dims, at_0) = run(&Prompts { texts: words.clone(), visual: visual.clone(), mix: Some(0.0) });
    assert_eq!(dims, [2, side, side]);
    assert!(relative_l2(&at_0, &text_only) <= TOLERANCE);
    let (_, at_1) = run(&Prompts { texts: words, visual, mix: Some(1.0) });
    for map in at_1.chunks(plane) {
        assert!(relative_l2(map, &visual_only) <= TOLERANCE);
    }
}

#[test]
fn edited_prompt_lists_embed_only_new_prompts() {
    let (reference, segmenter, query, _) = setup();
    let encoded = segmenter.encode_image(query);
    let all = reference.strings("prompts");
    let first = Prompts { texts: all[..2].iter().map(|t| t.as_str().into()).collect(), ..Prompts::default() };
    let (_, a) = read(segmenter.segment(&encoded, &first).unwrap());
    assert_eq!(segmenter.cached_texts(), 2);
    // Reordered, one repeated, one new: only the new one is embedded, results unchanged.
    let edited = Prompts { texts: [2, 1, 0, 1].map(|i| all[i].as_str().into()).to_vec(), ..Prompts::default() };
    let (_, b) = read(segmenter.segment(&encoded, &edited).unwrap());
    assert_eq!(segmenter.cached_texts(), 3);
    let plane = segmenter.logits_size() * segmenter.logits_size();
    assert!(relative_l2(&b[2 * plane..3 * plane], &a[..plane]) <= TOLERANCE);
    assert!(relative_l2(&b[plane..2 * plane], &a[plane..2 * plane]) <= TOLERANCE);
    // Against a fresh, uncached batch embedding of the same list.
    let fresh: Vec<&str> = [2, 1, 0, 1].map(|i| all[i].as_str()).to_vec();
    let (_, c) = read(segmenter.decode(&encoded, segmenter.embed_texts(&fresh).unwrap()));
    assert!(relative_l2(&b, &c) <= TOLERANCE);
}

#[test]
fn a_prompt_of_several_phrasings_decodes_their_mean_conditional() {
    let (_, segmenter, query, _) = setup();
    let encoded = segmenter.encode_image(query);
    let class = TextPrompt::new(vec!["a cup".into(), "a mug of coffee".into(), "a saucer".into()]);
    let prompts = Prompts { texts: vec!["a spoon".into(), class], ..Prompts::default() };
    let (dims, logits) = read(segmenter.segment(&encoded, &prompts).unwrap());
    let side = segmenter.logits_size();
    assert_eq!(dims, [2, side, side], "one output per prompt, however many phrasings");
    let each = segmenter.embed_texts(&["a cup", "a mug of coffee", "a saucer"]).unwrap();
    let spoon = segmenter.embed_texts(&["a spoon"]).unwrap();
    let expected = burn::tensor::Tensor::cat(vec![spoon, each.mean_dim(0)], 0);
    let (_, expected) = read(segmenter.decode(&encoded, expected));
    assert!(relative_l2(&logits, &expected) <= TOLERANCE);
    // A single phrasing is the plain prompt.
    let (_, single) = read(segmenter.segment(&encoded, &Prompts { texts: texts(&["a saucer"]), ..Prompts::default() }).unwrap());
    let (_, plain) = read(segmenter.decode(&encoded, segmenter.embed_texts(&["a saucer"]).unwrap()));
    assert!(relative_l2(&single, &plain) <= TOLERANCE);
}

#[test]
fn long_prompt_lists_decode_in_passes_and_runaway_ones_are_refused() {
    let (_, segmenter, query, _) = setup();
    let encoded = segmenter.encode_image(query);
    // More than one decoder pass (DECODE_BATCH = 8), a 10,000-character prompt among them
    // (CLIP reads its first 77 tokens).
    let mut words: Vec<String> = (0..19).map(|i| format!("object number {i}")).collect();
    words.push("a cat ".repeat(1700));
    let prompts = Prompts { texts: words.iter().map(|w| w.as_str().into()).collect(), ..Prompts::default() };
    let (dims, logits) = read(segmenter.segment(&encoded, &prompts).unwrap());
    let side = segmenter.logits_size();
    assert_eq!(dims, [20, side, side]);
    let plane = side * side;
    for (index, word) in words.iter().enumerate() {
        let alone = Prompts { texts: vec![word.as_str().into()], ..Prompts::default() };
        let (_, expected) = read(segmenter.segment(&encoded, &alone).unwrap());
        assert!(relative_l2(&logits[index * plane..(index + 1) * plane], &expected) <= TOLERANCE, "prompt {index}");
    }

    let many = Prompts { texts: (0..300).map(|i| TextPrompt::from(format!("thing {i}").as_str())).collect(), ..Prompts::default() };
    let error = segmenter.segment(&encoded, &many).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Prompt);
    assert!(error.message().contains("300 prompts at once"), "{error}");
    let phrasings = Prompts { texts: vec![TextPrompt::new((0..2000).map(|i| format!("thing {i}")).collect())], ..Prompts::default() };
    assert!(segmenter.segment(&encoded, &phrasings).unwrap_err().message().contains("2000 phrasings"));
}
