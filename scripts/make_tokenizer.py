#!/usr/bin/env python3
"""Build the CLIP BPE tokenizer file `models/tokenizer.json` without the Hugging Face hub.

The CLIP byte-level BPE data ships on PyPI inside `open_clip_torch`
(`open_clip/bpe_simple_vocab_16e6.txt.gz`). From it we build the same vocabulary and merge list
as OpenAI's CLIP / the `CIDAS/clipseg-*` checkpoints (49408 tokens):

    ids 0..255      the 256 byte-unicode symbols (GPT-2 `bytes_to_unicode` order)
    ids 256..511    the same symbols with the end-of-word suffix `</w>`
    ids 512..49405  one token per merge, merges = lines [1 : 49152-256-2+1] of the file
    id  49406       <|startoftext|>
    id  49407       <|endoftext|>

and hand them to `transformers.CLIPTokenizer`, which attaches the CLIP normaliser
(NFC, collapse whitespace, lowercase), the CLIP split regex + byte-level pre-tokeniser and the
BOS/EOS post-processor. Its `tokenizers` backend is saved as `tokenizer.json`.

`build_vocab_and_merges()` is also used by make_fixtures.py for its reference tokenizer.

Usage: python scripts/make_tokenizer.py [--out models/tokenizer.json] [--vocab-dir DIR]
"""

import argparse
import gzip
import importlib.util
import json
import os
from pathlib import Path

from tokenizers import Tokenizer
from transformers import CLIPTokenizer

REPO = Path(__file__).resolve().parent.parent
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
BOS_ID, EOS_ID, VOCAB_SIZE = 49406, 49407, 49408


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP reversible byte -> printable unicode character map (order matters: it fixes ids 0..255)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bpe_data_path() -> Path:
    # Locate the package data without importing open_clip (which would pull in torch/torchvision).
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("open_clip_torch is not installed (pip install -r scripts/requirements.txt)")
    return Path(spec.submodule_search_locations[0]) / "bpe_simple_vocab_16e6.txt.gz"


def build_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Return (vocab token -> id, merges in rank order), exactly as OpenAI's SimpleTokenizer builds them."""
    lines = gzip.open(bpe_data_path()).read().decode("utf-8").split("\n")
    # Line 0 is a version header; CLIP uses the first 49152-256-2 merges after it.
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    assert all(len(m) == 2 for m in merges)
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [BOS, EOS]
    vocab = {t: i for i, t in enumerate(tokens)}
    assert len(vocab) == len(tokens) == VOCAB_SIZE, "duplicate tokens in vocabulary"
    assert vocab[BOS] == BOS_ID and vocab[EOS] == EOS_ID
    return vocab, merges


def write_vocab_files(vocab_dir: Path, vocab, merges) -> None:
    """vocab.json + merges.txt in the layout of the Hub's openai/clip-* repos (merges.txt has a header line)."""
    vocab_dir.mkdir(parents=True, exist_ok=True)
    (vocab_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (vocab_dir / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8"
    )


def build_fast_tokenizer(vocab, merges) -> Tokenizer:
    hf = CLIPTokenizer(vocab=vocab, merges=merges)
    return hf.backend_tokenizer


def check(tok: Tokenizer) -> None:
    """Fail loudly if transformers ever stops attaching the CLIP pipeline we rely on."""
    cfg = json.loads(tok.to_str())
    assert cfg["model"]["type"] == "BPE" and cfg["model"]["end_of_word_suffix"] == "</w>"
    assert len(cfg["model"]["vocab"]) == VOCAB_SIZE
    norm = [n["type"] for n in cfg["normalizer"]["normalizers"]]
    assert norm == ["NFC", "Replace", "Lowercase"], norm
    pre = [p["type"] for p in cfg["pre_tokenizer"]["pretokenizers"]]
    assert pre == ["Split", "ByteLevel"], pre
    post = cfg["post_processor"]
    assert post["type"] == "RobertaProcessing", post
    assert post["cls"] == [BOS, BOS_ID] and post["sep"] == [EOS, EOS_ID], post
    specials = {t["content"]: t["id"] for t in cfg["added_tokens"] if t["special"]}
    assert specials == {BOS: BOS_ID, EOS: EOS_ID}, specials
    # Smoke test, ids known from the public CLIP vocabulary.
    assert tok.encode("a photo of a cat").ids == [BOS_ID, 320, 1125, 539, 320, 2368, EOS_ID]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "tokenizer.json")
    ap.add_argument("--vocab-dir", type=Path, help="also write vocab.json and merges.txt here")
    args = ap.parse_args()

    vocab, merges = build_vocab_and_merges()
    if args.vocab_dir:
        write_vocab_files(args.vocab_dir, vocab, merges)
    tok = build_fast_tokenizer(vocab, merges)
    check(tok)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(args.out), pretty=True)
    # Round trip: the file we wrote must load and behave identically.
    check(Tokenizer.from_file(str(args.out)))
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
