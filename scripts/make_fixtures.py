#!/usr/bin/env python3
"""Reference fixtures for the Rust CLIPSeg port, computed with Hugging Face `transformers`.

    python scripts/make_fixtures.py                 # fixtures/ (tiny random models) + tokenizer cases
    python scripts/make_fixtures.py --full DIR      # full-size random CLIPSeg (≈603 MB) + its reference
    python scripts/make_fixtures.py --full DIR --onnx   # ... and DIR/model.onnx for benchmarks
    python scripts/make_fixtures.py --mid DIR --onnx    # the mid-size one (browser WebGPU benchmark)
    python scripts/make_fixtures.py --add-only      # fixtures/, keeping every stored reference tensor

--add-only keeps each tensor already in a config's reference.safetensors byte for byte (after checking
that the recomputed one agrees to 1e-5 relative) and only adds the new ones: another CPU (other SIMD
kernels) computes the same outputs with other float rounding, ~1e-6 relative.

Needs models/tokenizer.json (scripts/make_tokenizer.py). The tiny fixtures are seeded and computed on one
thread, so reruns give byte-identical files (--full uses all cores: equal up to float reassociation).
The layout and tensor names (the contract with the Rust tests) are in fixtures/README.md and
`reference_outputs()`. Reference outputs are computed from the model directory as loaded back from disk.

Conventions shared with the Rust side
-------------------------------------
Pre-processing (the model's `pixel_values`) is the checkpoint's ViTImageProcessor settings (resize
352×352, bilinear, rescale 1/255, ImageNet mean/std, no crop) run through transformers' **PIL backend**
(`ViTImageProcessorPil`): Pillow `Image.resize((352, 352), BILINEAR)` on the uint8 RGB image
(antialiased when shrinking), then `(v / 255 - mean) / std` in float32 (checked here to reproduce the
processor's output exactly). The resized uint8 image of every non-352 photo is stored losslessly as
`images/<stem>_pil352.png`; the normalised tensors themselves are not stored. transformers 5 defaults to
a torchvision backend instead, whose antialiased uint8 resize differs from Pillow by ±1 level on ~0.1 %
of values; for the 352×352 images both are the identity resize. Images are always read back from
fixtures/images (PNG/JPEG decoded by Pillow), as the Rust side will.

Stored maps are subsampled: every 2-D map (all `*_logits*` tensors and `visual_box_pixels`) keeps rows
and columns 1, 4, 7, ... (`t[..., 1::3, 1::3]`, `SAMPLE` below). Step 3 is coprime with the decoder's
upsampling strides (powers of two), so every phase of the transposed-convolution kernels is still compared.

Visual prompt "crop + blur + darken" (`visual_box_*`; paper Table 2, timojl/clipseg
`img_preprocess(blur=3, bg_fac=0.1, center_context=0.1, image_size=352)`), S = 352, all in float32:
  1. Input: the prompt image's normalised pixel_values P [3,S,S] and a box [x0,y0,x1,y1] in integer
     pixels of the ORIGINAL prompt image (W×H), half-open (x1, y1 exclusive), 0 <= x0 < x1 <= W, same for y.
  2. Box on the S×S grid (outward rounding, so the box never shrinks), integer arithmetic:
        X0 = floor(x0*S/W), X1 = ceil(x1*S/W), Y0 = floor(y0*S/H), Y1 = ceil(y1*S/H).
     Mask M[y,x] = 1 for Y0 <= y < Y1 and X0 <= x < X1, else 0.
  3. B = Gaussian blur of P, per channel: separable 15-tap kernel, sigma 3,
     k[i] = exp(-(i-7)^2 / 18) / sum_j exp(-(j-7)^2 / 18), i = 0..14 (computed in float64, used as float32);
     horizontal pass then vertical pass, border = reflect without repeating the edge pixel
     (OpenCV BORDER_REFLECT_101 / torch "reflect": index -1 -> 1, S -> S-2).
  4. Blend: Q = P where M = 1, Q = 0.1f * B where M = 0 (background darkened towards 0, which in
     normalised space is the ImageNet mean colour, and blurred).
  5. Crop with 10 % context on each side, integer arithmetic: w = X1-X0, h = Y1-Y0,
        cx0 = max(0, X0 - w div 10), cx1 = min(S, X1 + w div 10),
        cy0 = max(0, Y0 - h div 10), cy1 = min(S, Y1 + h div 10);   C = Q[:, cy0:cy1, cx0:cx1].
     (The original code uses int(X0 - 0.1*w) etc. in floating point; we use floor division on both
     sides to avoid float rounding ambiguity. Differences are at most one pixel of context.)
  6. Pad to square with 0 (= mean colour): n = max(ch, cw); the short side gets (n - short) div 2 zeros
     before and the rest after.
  7. Resize n×n -> S×S: bilinear, align_corners=False, no antialias (torch.nn.functional.interpolate;
     n <= S so this only upsamples; n == S is the identity). src = (dst + 0.5) * n/S - 0.5, clamped
     below at 0, neighbours floor(src) and min(floor(src)+1, n-1). (The original code used nearest.)
  The result [1,3,S,S] is fed to the vision tower like any prompt image (pooled, post_layernorm,
  visual_projection) = `visual_box_conditional`.

Visual prompt from a mask (`visual_mask_*`, the paper's mask prompt; Rust's `Region::Mask`): the mask
image (same size W×H as the prompt image, `images/*_mask.png`, luma >= 128 = object) is sampled to the
S×S grid by nearest neighbour, M[y,x] = mask[y*H div S, x*W div S], replacing step 2; steps 3-7 are the
same, with X0, X1, Y0, Y1 the bounding box of M (X1, Y1 exclusive). A box is the special case whose mask
is its rectangle on the grid, so both go through one function (`engineered_prompt`).

Mixed prompts (`mix_logits`): every text conditional T[p] is mixed with one visual conditional V (a box
or mask prompt of the same config) as (1 - W) * T[p] + W * V in float32, W = `weight` of the case, and
decoded with `model(pixel_values=..., conditional_embeddings=...)`: one output per text prompt.
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import skimage.data
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import CLIPSegConfig, CLIPSegForImageSegmentation, CLIPSegProcessor, CLIPTokenizer
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tokenizer import EOS_ID, build_vocab_and_merges  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
IMAGES = FIXTURES / "images"
TOKENIZER_JSON = REPO / "models" / "tokenizer.json"

S = 352  # model input resolution of the CIDAS checkpoints' processor
CONTEXT = 77
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
SEED = 20220614
SAMPLE = {"start": 1, "step": 3}  # stored maps keep t[..., 1::3, 1::3]
MIX_WEIGHT = 0.3

# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------

# stem -> (skimage.data name, file name, resize to S×S?)
PHOTOS = {
    "astronaut_352": ("astronaut", "astronaut_352.png", True),
    "coffee_352": ("coffee", "coffee_352.png", True),
    "chelsea": ("chelsea", "chelsea.png", False),  # 451×300, PNG
    "rocket": ("rocket", "rocket.jpg", False),  # 640×427, JPEG (decoder differences are possible)
}


def save_png(img: Image.Image, path: Path) -> None:
    img.save(path, optimize=False, compress_level=9)


def write_images() -> None:
    """The photos, then `<stem>_pil352.png` for each one that is not 352×352 (the resize reference)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    for stem, (name, file, square) in PHOTOS.items():
        img = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        if square:
            # Pre-resized so that the processor's resize is the identity for these.
            img = img.resize((S, S), Image.BILINEAR)
        path = IMAGES / file
        if file.endswith(".jpg"):
            img.save(path, quality=90, optimize=False, progressive=False, subsampling="4:2:0")
        else:
            save_png(img, path)
        if not square:
            # Resized from the file as decoded, exactly as the processor does.
            save_png(pil_resize(load_image(stem)), IMAGES / pil352_files()[stem])


# Mask prompts: file -> (photo stem it belongs to, how it is drawn). Real shapes, not boxes, so the
# mask path (nearest-neighbour sampling, bounding box of an irregular region) is exercised.
MASKS = {
    "chelsea_mask.png": "chelsea",  # a tilted ellipse over the cat's eye and forehead
    "astronaut_mask.png": "astronaut_352",  # thresholded: near-white pixels in the right third (the shuttle)
}


def write_masks() -> None:
    for file, stem in MASKS.items():
        rgb = np.asarray(load_image(stem))
        h, w = rgb.shape[:2]
        y, x = np.mgrid[:h, :w]
        if stem == "chelsea":
            cx, cy, rx, ry, t = 205, 130, 105, 80, np.deg2rad(-15)
            u = ((x - cx) * np.cos(t) + (y - cy) * np.sin(t)) / rx
            v = (-(x - cx) * np.sin(t) + (y - cy) * np.cos(t)) / ry
            mask = u * u + v * v <= 1
        else:
            mask = (rgb.min(axis=2) > 160) & (x >= 236) & (y < 300)
        save_png(Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L"), IMAGES / file)


def load_mask(file: str) -> np.ndarray:
    """The mask image as bool [H, W]: luma >= 128 is the object."""
    return np.asarray(Image.open(IMAGES / file).convert("L")) >= 128


def pil352_files() -> dict[str, str]:
    return {stem: f"{stem}_pil352.png" for stem, (_, _, square) in PHOTOS.items() if not square}


def load_image(stem: str) -> Image.Image:
    return Image.open(IMAGES / PHOTOS[stem][1]).convert("RGB")


def pil_resize(img: Image.Image) -> Image.Image:
    return img.resize((S, S), Image.BILINEAR)


def normalize(img: Image.Image) -> torch.Tensor:
    """uint8 RGB S×S -> [1,3,S,S] float32, `(v / 255 - mean) / std`."""
    v = np.asarray(img, dtype=np.float32)
    v = (v / 255 - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    return torch.from_numpy(v.transpose(2, 0, 1).copy())[None]


def make_processor(tokenizer) -> CLIPSegProcessor:
    """The CIDAS/clipseg-rd64-refined processor, rebuilt offline (its preprocessor_config.json)."""
    image_processor = ViTImageProcessorPil(
        do_resize=True,
        size={"height": S, "width": S},
        resample=Image.BILINEAR,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
    )
    return CLIPSegProcessor(image_processor=image_processor, tokenizer=tokenizer)


def pixel_values(processor, stem: str) -> torch.Tensor:
    pv = processor(images=load_image(stem), return_tensors="pt")["pixel_values"].float()
    # The documented recipe (and the stored resize for non-352 images) must give exactly these values.
    resized = load_image(stem) if PHOTOS[stem][2] else Image.open(IMAGES / pil352_files()[stem]).convert("RGB")
    assert resized.size == (S, S) and torch.equal(normalize(resized), pv), f"{stem}: pre-processing recipe drifted"
    return pv


# --------------------------------------------------------------------------------------------------
# Visual prompt (recipe in the module docstring)
# --------------------------------------------------------------------------------------------------


def box_on_grid(box, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, box
    return x0 * S // width, y0 * S // height, -(-x1 * S // width), -(-y1 * S // height)


def gaussian_blur(x: torch.Tensor, size: int = 15, sigma: float = 3.0) -> torch.Tensor:
    r = size // 2
    k = np.exp(-((np.arange(size) - r) ** 2) / (2 * sigma**2))
    k = torch.from_numpy(k / k.sum()).float()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, size).repeat(c, 1, 1, 1), groups=c)
    x = F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, size, 1).repeat(c, 1, 1, 1), groups=c)
    return x


def box_mask(box, width: int, height: int) -> torch.Tensor:
    """The box's mask on the S×S grid, [1,1,S,S] bool (step 2)."""
    X0, Y0, X1, Y1 = box_on_grid(box, width, height)
    mask = torch.zeros(1, 1, S, S, dtype=torch.bool)
    mask[..., Y0:Y1, X0:X1] = True
    return mask


def mask_on_grid(mask: np.ndarray) -> torch.Tensor:
    """A W×H mask sampled to the S×S grid by nearest neighbour, [1,1,S,S] bool."""
    h, w = mask.shape
    ys, xs = np.arange(S) * h // S, np.arange(S) * w // S
    return torch.from_numpy(np.ascontiguousarray(mask[np.ix_(ys, xs)]))[None, None]


def engineered_prompt(pv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Steps 3-7 for an object mask [1,1,S,S] on the grid."""
    cols, rows = mask[0, 0].any(dim=0).nonzero()[:, 0], mask[0, 0].any(dim=1).nonzero()[:, 0]
    X0, X1, Y0, Y1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    q = torch.where(mask, pv, gaussian_blur(pv) * 0.1)
    w, h = X1 - X0, Y1 - Y0
    cx0, cx1 = max(0, X0 - w // 10), min(S, X1 + w // 10)
    cy0, cy1 = max(0, Y0 - h // 10), min(S, Y1 + h // 10)
    crop = q[..., cy0:cy1, cx0:cx1]
    ch, cw = crop.shape[-2:]
    n = max(ch, cw)
    left, top = (n - cw) // 2, (n - ch) // 2
    sq = F.pad(crop, (left, n - cw - left, top, n - ch - top), value=0.0)
    return F.interpolate(sq, size=(S, S), mode="bilinear", align_corners=False, antialias=False).contiguous()


# --------------------------------------------------------------------------------------------------
# Tokenizer reference: transformers' CLIPTokenizer (in transformers 5 the `tokenizers`-backed one)
# --------------------------------------------------------------------------------------------------


LONG_PROMPT = (
    "a highly detailed photograph of a small orange tabby cat with green eyes sitting on a wooden "
    "kitchen table next to a white ceramic coffee cup, a red rocket on a launch pad in the far "
    "background at dusk, an astronaut in a white spacesuit holding a flag, soft warm light from a "
    "window on the left, shallow depth of field, 35mm film grain, award winning composition, "
    "trending on every photography website in the whole wide world"
)

TOKENIZER_CASES = [
    # plain
    "",
    "a photo of a cat",
    "A PHOTO OF A CAT",
    "x",
    "supercalifragilisticexpialidocious",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "CamelCaseWordsTogether and snake_case and kebab-case",
    # accents, case mapping
    "café",
    "naïve résumé",
    "Ångström",
    "façade",
    "Crème brûlée à la carte",
    "e\u0301cole cafe\u0301",  # decomposed accents: NFC composes them
    "Straße",
    "İstanbul",
    "ΣΊΣΥΦΟΣ ΟΔΟΣ",  # final sigma: per-char lowercasing gives σ (Python's str.lower() gives ς)
    "Ǆemal ǅ ǆ",
    # emoji
    "🐱",
    "cat 🐈 and dog 🐕",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈 flag",
    "🇯🇵🇺🇸🇩🇪 flags",
    "👍🏽 thumbs up",
    "emoji-only 🤖👾🎃",
    # scripts
    "猫",
    "一只猫坐在垫子上",
    "日本語のテキスト",
    "고양이",
    "قطة على السجادة",
    "кошка на ковре",
    "КОШКА",
    "बिल्ली चटाई पर",
    "שלום",
    "แมว",
    "mixed 中文 and English",
    # punctuation
    "!!!???...",
    "hello,world...yes!!",
    "--==**##@@",
    "a.b.c.d",
    "(parenthesized) [bracketed] {braced}",
    "#hashtag @mention $100 50% off",
    "C:\\Users\\test\\file.txt",
    # contractions
    "it's",
    "don't won't can't",
    "they're we've I'm you'll he'd",
    "I'M HERE, IT'S FINE, WE'LL SEE",
    "O'Reilly's book",
    "rock 'n' roll",
    "don’t",  # curly apostrophe (the legacy ftfy tokenizer uncurled it)
    "“quoted” text",
    # digits
    "123",
    "3.14159265358979",
    "1,000,000 dollars",
    "12345678901234567890",
    "2024-01-01T12:00:00Z",
    "Ⅻ ½ ² ٣",
    # whitespace
    "\ta\tcat\t",
    "a\ncat\r\nline",
    "a    cat   with   spaces",
    "   leading and trailing   ",
    " ",
    "non\u00a0breaking\u00a0space",
    "zero\u200bwidth space",
    "ideographic\u3000space",
    "en\u2002space and em\u2003space",
    # markup, urls
    "<b>bold</b> text",
    '<div class="x">a &amp; b</div>',
    "fish &amp; chips",
    "https://example.com/path?query=cat&size=large#frag",
    "user@example.com",
    # text the legacy tokenizer's ftfy.fix_text changed
    "ﬁsh ﬂower",
    "ＦＵＬＬＷＩＤＴＨ",
    "mojibake: cafÃ©",
    "control\x07char",
    # specials in the text
    "<|endoftext|>",
    "a photo of a <|startoftext|> cat",
    "<|ENDOFTEXT|>",
    # truncation
    LONG_PROMPT,
    "cat " * 100,
    "🐱" * 80,
]


def make_tokenizer_cases(hf_tokenizer) -> None:
    """`ids` = transformers' CLIPTokenizer with truncation to 77 (no padding); models/tokenizer.json, which
    the Rust side loads, must agree on every case."""
    file_tokenizer = Tokenizer.from_file(str(TOKENIZER_JSON))
    file_tokenizer.enable_truncation(max_length=CONTEXT)
    cases = []
    for text in TOKENIZER_CASES:
        ids = hf_tokenizer(text, truncation=True, max_length=CONTEXT)["input_ids"]
        assert file_tokenizer.encode(text).ids == ids, f"models/tokenizer.json disagrees on {text!r}"
        cases.append({"text": text, "ids": ids})
    (FIXTURES / "tokenizer_cases.json").write_text(
        json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"tokenizer cases: {len(cases)}")


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


def text_config(hidden, layers, heads, mlp, eos):
    # bos/pad as in the CIDAS checkpoints' config.json; eos selects the pooling rule (see spec).
    return dict(
        vocab_size=49408, max_position_embeddings=CONTEXT, hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=mlp, bos_token_id=0, pad_token_id=1, eos_token_id=eos,
    )


def vision_config(hidden, layers, heads, mlp, patch, image_size):
    return dict(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=mlp,
        patch_size=patch, image_size=image_size,
    )


# Per config: model config + which fixture cases to compute. fixtures/ is kept near 5 MB: the token
# embedding (49408 × text hidden, float32) dominates each weights file, hence the narrow text towers
# (hidden 4 with 2 heads in tiny-refined, 3 with 1 head elsewhere); a stored 352×352 map is 55 KB after
# sampling (221 KB at 704×704), so the checks are spread over the configs rather than repeated.
TINY = {
    "tiny-refined": dict(
        config=dict(
            text_config=text_config(4, 2, 2, 16, eos=2),
            vision_config=vision_config(32, 4, 4, 64, patch=16, image_size=224),
            projection_dim=16, extract_layers=[1, 2, 3], reduce_dim=16, conditional_layer=0,
            decoder_num_attention_heads=2, decoder_intermediate_size=32,
            use_complex_transposed_convolution=True,
        ),
        weights="safetensors",
        prompts=["a cat", "the astronaut's helmet, shiny & white!", LONG_PROMPT],
        images_352=["astronaut_352"],
        images_other=["chelsea"],
        visual_plain=[["astronaut_352", "coffee_352"]],
        visual_box=[{"query": "coffee_352", "prompt_image": "chelsea", "box": [128, 78, 212, 152]}],
        visual_mask=[{"query": "coffee_352", "prompt_image": "chelsea", "mask": "chelsea_mask.png"}],
        mix=[{"query": "coffee_352", "prompt_image": "chelsea", "box": [128, 78, 212, 152], "weight": MIX_WEIGHT}],
    ),
    "tiny-plain": dict(
        config=dict(
            text_config=text_config(3, 2, 1, 12, eos=49407),
            vision_config=vision_config(24, 3, 2, 48, patch=16, image_size=96),
            projection_dim=12, extract_layers=[0, 2], reduce_dim=8, conditional_layer=1,
            decoder_num_attention_heads=2, decoder_intermediate_size=16,
            use_complex_transposed_convolution=False,
        ),
        weights="bin",
        prompts=["a red rocket on a launch pad", "Ångström café ☕ 2024", LONG_PROMPT],
        images_352=["astronaut_352"],
        images_other=["rocket"],
        visual_plain=[["astronaut_352", "rocket"]],
        # A tall box touching the bottom edge: context is clipped, square padding is left/right.
        visual_box=[{"query": "astronaut_352", "prompt_image": "rocket", "box": [296, 124, 344, 427]}],
        # The mask prompt is on a lossless image, so the mix (which uses it) is compared exactly.
        visual_mask=[{"query": "astronaut_352", "prompt_image": "astronaut_352", "mask": "astronaut_mask.png"}],
        mix=[{"query": "astronaut_352", "prompt_image": "astronaut_352", "mask": "astronaut_mask.png", "weight": MIX_WEIGHT}],
    ),
    "tiny-patch32": dict(
        config=dict(
            text_config=text_config(3, 2, 1, 12, eos=2),
            vision_config=vision_config(8, 6, 2, 16, patch=32, image_size=64),
            projection_dim=20, extract_layers=[2, 5], reduce_dim=12, conditional_layer=1,
            decoder_num_attention_heads=3, decoder_intermediate_size=24,
            use_complex_transposed_convolution=True,
        ),
        weights="safetensors",
        prompts=["a cup of coffee on a saucer, seen from above"],  # one prompt: P = 1
        images_352=["coffee_352"],
        images_other=[],
        visual_plain=[],  # the plain and box visual paths are covered by the other configs
        visual_box=[],
        visual_mask=[{"query": "coffee_352", "prompt_image": "chelsea", "mask": "chelsea_mask.png"}],
        mix=[{"query": "coffee_352", "prompt_image": "chelsea", "mask": "chelsea_mask.png", "weight": MIX_WEIGHT}],
    ),
}

FULL = dict(
    config=dict(
        text_config=text_config(512, 12, 8, 2048, eos=2),
        vision_config=vision_config(768, 12, 12, 3072, patch=16, image_size=224),
        projection_dim=512, extract_layers=[3, 6, 9], reduce_dim=64, conditional_layer=0,
        decoder_num_attention_heads=4, decoder_intermediate_size=2048,
        use_complex_transposed_convolution=True,
    ),
    weights="safetensors",
    prompts=["a cat", "a photo of an astronaut's helmet"],
    images_352=["astronaut_352"],
    images_other=[],
    visual_plain=[["astronaut_352", "astronaut_352"]],
    visual_box=[{"query": "astronaut_352", "prompt_image": "astronaut_352", "box": [110, 20, 240, 170]}],
)

# The browser WebGPU benchmark's model (scripts/bench.mjs): SwiftShader, WebGPU on this CPU-only
# machine, runs at about 0.3 GFLOP/s, so the full size would take minutes per encode. Vision 384 × 6
# layers and text 256 × 4 (27.6 M parameters) with the full decoder.
MID = dict(
    FULL,
    config=dict(
        FULL["config"],
        text_config=text_config(256, 4, 4, 1024, eos=2),
        vision_config=vision_config(384, 6, 6, 1536, patch=16, image_size=224),
        projection_dim=256, extract_layers=[1, 3, 5],
    ),
)


def build_model(config: dict, seed: int) -> CLIPSegForImageSegmentation:
    torch.manual_seed(seed)
    cfg = CLIPSegConfig(**config)
    cfg._attn_implementation = "eager"  # plain matmul/softmax attention for the reference
    # Written into config.json (and kept by `clipseg convert`): the site's manifest marks the model
    # as a random-weight demo, and the page says its masks are noise.
    cfg.random_weights = True
    model = CLIPSegForImageSegmentation(cfg).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        # The composite config has no initializer_range, so HF draws the decoder's reduce/FiLM/head
        # weights with std = initializer_factor = 1 (logits of ±500). Redraw them with unit gain,
        # std = gain / sqrt(fan_in) (gain √2 before a ReLU), so activations and logits stay O(1).
        dec = model.decoder
        tc = dec.transposed_convolution
        head = [m for m in tc if not isinstance(m, torch.nn.ReLU)] if isinstance(tc, torch.nn.Sequential) else [tc]
        for m in [*dec.reduces, dec.film_mul, dec.film_add, *head]:
            if isinstance(m, torch.nn.Linear):
                fan_in = m.in_features
            elif isinstance(m, torch.nn.ConvTranspose2d):
                fan_in = m.in_channels  # stride == kernel: each output pixel sees one input pixel
            else:
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            gain = math.sqrt(2) if m in head[:-1] else 1.0
            m.weight.copy_(gain / math.sqrt(fan_in) * torch.randn(m.weight.shape, generator=gen))
        # HF initialises LayerNorms to (1, 0) and Linear/Conv biases to 0; a port that swapped or skipped
        # them would still pass. Randomise them so every tensor in the file matters.
        for name, p in model.named_parameters():
            if name == "clip.logit_scale":
                continue
            if p.ndim == 1 and re.search(r"norm\d?\.weight$", name):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
    return model


def tokenize(processor, prompts):
    enc = processor(text=prompts, padding="max_length", truncation=True, max_length=CONTEXT, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


@torch.no_grad()
def reference_outputs(model, processor, case: dict, image_sizes: dict) -> tuple[dict, dict]:
    """All reference tensors for one config, at full size (names are the contract with the Rust tests)."""
    out, stats = {}, {}
    images = list(dict.fromkeys(
        case["images_352"] + case["images_other"]
        + [p for pair in case["visual_plain"] for p in pair]
        + [v["query"] for v in case["visual_box"]] + [v["prompt_image"] for v in case["visual_box"]]
        + [v[k] for v in case.get("visual_mask", []) for k in ("query", "prompt_image")]
    ))
    pv = {img: pixel_values(processor, img) for img in images}

    ids, mask = tokenize(processor, case["prompts"])
    P = len(case["prompts"])
    out["text_input_ids"] = ids.to(torch.int64)
    out["text_attention_mask"] = mask.to(torch.int64)
    out["text_conditional"] = model.get_conditional_embeddings(batch_size=P, input_ids=ids, attention_mask=mask)

    extract = list(model.config.extract_layers)
    for img in case["images_352"]:
        hidden = model.clip.vision_model(pv[img], output_hidden_states=True).hidden_states
        out[f"vision_hidden.{img}"] = torch.cat([hidden[i + 1] for i in extract])  # [n_extract, tokens, hidden]

    for img in case["images_352"] + case["images_other"]:
        logits = model(input_ids=ids, attention_mask=mask, pixel_values=pv[img].expand(P, -1, -1, -1)).logits
        out[f"text_logits.{img}"] = logits
        stats[f"text_logits.{img}"] = [round(float((l > 0).float().mean()), 4) for l in logits]
    for img in case["images_other"]:
        # Mask logits at the image's own size: bilinear, align_corners=False, prompt 0 only.
        w, h = image_sizes[img]
        out[f"text_logits_orig.{img}"] = F.interpolate(
            out[f"text_logits.{img}"][:1, None], size=(h, w), mode="bilinear", align_corners=False
        )[:, 0]

    for img, pimg in case["visual_plain"]:
        cond = model.get_conditional_embeddings(batch_size=1, conditional_pixel_values=pv[pimg])
        out[f"visual_plain_conditional.{pimg}"] = cond
        logits = model(pixel_values=pv[img], conditional_embeddings=cond).logits
        out[f"visual_plain_logits.{img}.{pimg}"] = logits
        stats[f"visual_plain_logits.{img}.{pimg}"] = round(float((logits > 0).float().mean()), 4)

    def engineered_case(kind, img, pimg, object_mask):
        """The engineered prompt of `object_mask` on `pimg`: its pixels, conditional, and logits on `img`."""
        prompt = engineered_prompt(pv[pimg], object_mask)
        out[f"visual_{kind}_pixels.{pimg}"] = prompt
        cond = model.get_conditional_embeddings(batch_size=1, conditional_pixel_values=prompt)
        out[f"visual_{kind}_conditional.{pimg}"] = cond
        logits = model(pixel_values=pv[img], conditional_embeddings=cond).logits
        out[f"visual_{kind}_logits.{img}.{pimg}"] = logits
        stats[f"visual_{kind}_logits.{img}.{pimg}"] = round(float((logits > 0).float().mean()), 4)

    for vb in case["visual_box"]:
        pimg = vb["prompt_image"]
        engineered_case("box", vb["query"], pimg, box_mask(vb["box"], *image_sizes[pimg]))

    for vm in case.get("visual_mask", []):
        pimg = vm["prompt_image"]
        mask = load_mask(vm["mask"])
        assert mask.shape == (image_sizes[pimg][1], image_sizes[pimg][0]), f"{vm['mask']} is not {pimg}'s size"
        engineered_case("mask", vm["query"], pimg, mask_on_grid(mask))

    for mx in case.get("mix", []):
        img, pimg = mx["query"], mx["prompt_image"]
        kind = "box" if "box" in mx else "mask"
        visual = out[f"visual_{kind}_conditional.{pimg}"]
        mixed = (1 - mx["weight"]) * out["text_conditional"] + mx["weight"] * visual
        logits = model(pixel_values=pv[img].expand(P, -1, -1, -1), conditional_embeddings=mixed).logits
        out[f"mix_logits.{img}.{pimg}"] = logits
        stats[f"mix_logits.{img}.{pimg}"] = [round(float((l > 0).float().mean()), 4) for l in logits]

    return {k: v.detach().contiguous() for k, v in out.items()}, stats


# The 2-D maps, stored subsampled by `SAMPLE`.
SAMPLED = (
    "text_logits.", "text_logits_orig.", "visual_plain_logits.", "visual_box_logits.", "visual_box_pixels.",
    "visual_mask_logits.", "visual_mask_pixels.", "mix_logits.",
)


def stored(tensors: dict) -> dict:
    i, d = SAMPLE["start"], SAMPLE["step"]
    return {k: v[..., i::d, i::d].contiguous() if k.startswith(SAMPLED) else v for k, v in tensors.items()}


def save_weights(model, out_dir: Path, kind: str) -> None:
    model.save_pretrained(out_dir)  # config.json + model.safetensors
    if kind == "bin":
        # transformers 5 only writes safetensors; write the legacy torch.save layout of the CIDAS
        # checkpoints' pytorch_model.bin ourselves: same keys, plus the int64 `position_ids` buffers
        # those older files carried (a loader must ignore them).
        (out_dir / "model.safetensors").unlink()
        state = dict(model.state_dict())
        state["clip.text_model.embeddings.position_ids"] = model.clip.text_model.embeddings.position_ids
        state["clip.vision_model.embeddings.position_ids"] = model.clip.vision_model.embeddings.position_ids
        torch.save(state, out_dir / "pytorch_model.bin")


def keep_stored(tensors: dict, stored_file: Path) -> dict:
    """`tensors` with every tensor `stored_file` already holds replaced by the stored one (checked to agree)."""
    from safetensors.torch import load_file

    kept = load_file(stored_file)
    for k, old in kept.items():
        new = tensors[k]
        assert old.shape == new.shape and old.dtype == new.dtype, f"{k}: stored {old.shape} {old.dtype}"
        if old.dtype.is_floating_point:
            rel = float((old.double() - new.double()).norm() / old.double().norm().clamp_min(1e-30))
            assert rel <= 1e-5, f"{k}: recomputed differs from the stored tensor by {rel:.1e} relative"
        else:
            assert torch.equal(old, new), f"{k}: recomputed differs from the stored tensor"
    return {**tensors, **kept}


def write_model_dir(name: str, case: dict, out_dir: Path, processor, seed: int, link_tokenizer: bool,
                    add_only: bool = False):
    t0 = time.time()
    stored_before = None
    if add_only and (out_dir / "reference.safetensors").exists():
        stored_before = out_dir.parent / f".{name}.reference.safetensors"
        shutil.copyfile(out_dir / "reference.safetensors", stored_before)
    model = build_model(case["config"], seed)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    save_weights(model, out_dir, case["weights"])
    # Classic Hub layout (as the CIDAS repos): preprocessor_config.json + tokenizer_config.json; the
    # tokenizer.json written here is replaced by a link to (or copy of) models/tokenizer.json.
    processor.image_processor.save_pretrained(out_dir)
    processor.tokenizer.save_pretrained(out_dir)
    tok_path = out_dir / "tokenizer.json"
    tok_path.unlink()
    if link_tokenizer:
        tok_path.symlink_to(os.path.relpath(TOKENIZER_JSON, out_dir))
    else:
        shutil.copyfile(TOKENIZER_JSON, tok_path)

    # Reference outputs come from the model as loaded back from disk (what the Rust side reads); the
    # in-memory model must agree up to float reassociation (weights at different memory alignment).
    image_sizes = {stem: load_image(stem).size for stem in PHOTOS}
    loaded = CLIPSegForImageSegmentation.from_pretrained(out_dir, attn_implementation="eager").eval()
    full, stats = reference_outputs(loaded, processor, case, image_sizes)
    in_memory, _ = reference_outputs(model, processor, case, image_sizes)
    worst = max((in_memory[k] - full[k]).abs().max().item() for k in full)
    assert worst < 1e-4, f"{name}: saved model differs from the in-memory one by {worst}"
    tensors = stored(full)
    if stored_before is not None:
        tensors = keep_stored(tensors, stored_before)
        stored_before.unlink()
    save_file(tensors, out_dir / "reference.safetensors")

    cfg = model.config
    grid = S // cfg.vision_config.patch_size
    ids = tensors["text_input_ids"]
    cases = {
        "prompts": case["prompts"],
        "images_352": case["images_352"],
        "images_other": case["images_other"],
        "visual_plain": case["visual_plain"],
        "visual_box": [
            {**vb, "box_352": list(box_on_grid(vb["box"], *image_sizes[vb["prompt_image"]]))}
            for vb in case["visual_box"]
        ],
        "visual_mask": case.get("visual_mask", []),
        "mix": case.get("mix", []),
        "extract_layers": list(cfg.extract_layers),
        "image_files": {stem: PHOTOS[stem][1] for stem in PHOTOS},
        "pil352_files": pil352_files(),
        "mask_files": MASKS,  # mask image -> the photo it belongs to  # Pillow's 352×352 resize of the non-352 images
        "image_sizes": {stem: list(image_sizes[stem]) for stem in PHOTOS},  # [width, height]
        "grid": grid,
        "vision_tokens": grid * grid + 1,
        "logits_size": list(full[next(k for k in full if "logits." in k)].shape[-2:]),  # before sampling
        "sample": SAMPLE,
        "pooled_index": [int((row == EOS_ID).nonzero()[0]) for row in ids],
        "weights_file": "pytorch_model.bin" if case["weights"] == "bin" else "model.safetensors",
        "positive_logit_fraction": stats,
        "tensors": {k: [list(v.shape), str(v.dtype).removeprefix("torch.")] for k, v in tensors.items()},
    }
    (out_dir / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    fracs = [f for v in stats.values() for f in (v if isinstance(v, list) else [v])]
    assert all(0.05 <= f <= 0.95 for f in fracs), f"{name}: degenerate logits {stats}"
    print(f"{name}: {len(tensors)} tensors, saved-vs-memory max |diff| {worst:.1e}, "
          f"positive-logit fractions {stats} ({time.time() - t0:.1f}s)")
    return model


# --------------------------------------------------------------------------------------------------
# ONNX
# --------------------------------------------------------------------------------------------------


class SegmentText(torch.nn.Module):
    """Text-prompted segmentation of one image with P prompts: (pixel_values [1,3,S,S], input_ids [P,77],
    attention_mask [P,77]) -> logits [P,S,S]. The vision tower runs once and stops after the last
    extracted layer; the resized position embedding is a constant (the input is always S×S)."""

    def __init__(self, model: CLIPSegForImageSegmentation):
        super().__init__()
        self.model = model
        vm = model.clip.vision_model
        with torch.no_grad():
            dummy = torch.zeros(1, (S // vm.config.patch_size) ** 2 + 1, vm.config.hidden_size)
            self.register_buffer("pos", vm.embeddings.interpolate_pos_encoding(dummy, S, S).clone())
        self.extract = list(model.config.extract_layers)

    def forward(self, pixel_values, input_ids, attention_mask):
        m = self.model
        vm = m.clip.vision_model
        emb = vm.embeddings
        x = emb.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([emb.class_embedding.expand(x.shape[0], 1, -1), x], dim=1) + self.pos
        x = vm.pre_layrnorm(x)
        acts = []
        for i, layer in enumerate(vm.encoder.layers[: max(self.extract) + 1]):
            x = layer(x, None)
            if i in self.extract:
                acts.append(x)
        P = input_ids.shape[0]
        cond = m.clip.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output
        acts = [a.expand(P, -1, -1) for a in acts]
        return m.decoder(acts, cond).logits


def export_onnx(model, processor, out_dir: Path, prompts) -> None:
    import onnxruntime as ort

    wrapper = SegmentText(model).eval()
    pv = pixel_values(processor, "astronaut_352")
    ids, mask = tokenize(processor, prompts)
    with torch.no_grad():
        want = model(input_ids=ids, attention_mask=mask, pixel_values=pv.expand(len(prompts), -1, -1, -1)).logits
        got = wrapper(pv, ids, mask)
    print(f"onnx wrapper vs HF forward: max |diff| {(got - want).abs().max().item():.2e}")
    P = torch.export.Dim("prompts", min=1, max=64)
    path = out_dir / "model.onnx"
    t0 = time.time()
    torch.onnx.export(
        wrapper, (pv, ids, mask), str(path), dynamo=True, external_data=False,
        input_names=["pixel_values", "input_ids", "attention_mask"], output_names=["logits"],
        dynamic_shapes={"pixel_values": None, "input_ids": {0: P}, "attention_mask": {0: P}},
    )
    print(f"exported {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.time() - t0:.0f}s")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_logits,) = sess.run(None, {"pixel_values": pv.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    print(f"onnxruntime vs HF forward: max |diff| {np.abs(onnx_logits - want.numpy()).max():.2e}")


# --------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", type=Path, metavar="DIR", help="write the full-size random model + reference to DIR")
    ap.add_argument("--mid", type=Path, metavar="DIR", help="write the mid-size random model (WebGPU benchmark) to DIR")
    ap.add_argument("--onnx", action="store_true", help="with --full or --mid: also export DIR/model.onnx")
    ap.add_argument("--add-only", action="store_true", help="keep the stored reference tensors, add new ones")
    args = ap.parse_args()
    if args.onnx and not (args.full or args.mid):
        ap.error("--onnx needs --full DIR or --mid DIR")
    if args.full and args.mid:
        ap.error("one of --full and --mid at a time")
    if not TOKENIZER_JSON.exists():
        sys.exit(f"{TOKENIZER_JSON} missing: run scripts/make_tokenizer.py first")

    torch.use_deterministic_algorithms(True)
    vocab, merges = build_vocab_and_merges()
    hf_tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=CONTEXT)
    processor = make_processor(hf_tokenizer)

    if args.full or args.mid:
        name, case, out_dir = ("full", FULL, args.full) if args.full else ("mid", MID, args.mid)
        torch.set_num_threads(os.cpu_count() or 1)
        image_files = [file for _, file, _ in PHOTOS.values()] + list(pil352_files().values())
        if not all((IMAGES / file).exists() for file in image_files):
            write_images()
        t0 = time.time()
        model = write_model_dir(name, case, out_dir, processor, SEED, link_tokenizer=False)
        print(f"--{name} took {time.time() - t0:.0f}s")
        if args.onnx:
            export_onnx(model, processor, out_dir, case["prompts"])
        return

    torch.set_num_threads(1)  # bit-reproducible CPU reductions
    write_images()
    write_masks()
    make_tokenizer_cases(hf_tokenizer)
    for i, (name, case) in enumerate(TINY.items()):
        write_model_dir(name, case, FIXTURES / name, processor, SEED + 10 * i, link_tokenizer=True,
                        add_only=args.add_only)


if __name__ == "__main__":
    main()
