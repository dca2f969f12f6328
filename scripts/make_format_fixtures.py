#!/usr/bin/env python3
"""Image-decoder fixtures: the same small photo in many file formats, plus what Pillow decodes them to.

    python scripts/make_format_fixtures.py            # writes fixtures/formats/
    python scripts/make_format_fixtures.py --out DIR  # somewhere else (e.g. to check determinism)
    python scripts/make_format_fixtures.py --check    # also cross-check with other decoders (see below)

For the Rust decoder tests (the `image` crate 0.25, features png/jpeg/webp/gif/bmp; JPEG is zune-jpeg,
WebP is image-webp). Needs Pillow, numpy, scikit-image (versions in scripts/requirements.txt); the
output is byte-identical on reruns with the same versions.

Content: a crop of `skimage.data.astronaut()` (rows 30..270, columns 110..470: face, helmet, flag)
resized to 48×32 (W×H, deliberately not square so a transposed or wrongly rotated decode changes the
shape; both sides multiples of 16, so no JPEG MCU padding enters the picture). The "display" image D is
what every valid file shows once decoded and EXIF-oriented: width 48, height 32 for every file.

fixtures/formats/
  <inputs>                 the files to decode (list and notes in manifest.json)
  expected/<input>.png     8-bit RGB PNG: the reference decode of <input>
  manifest.json            [{file, expected, width, height, tolerance, note, ...}]

Reference decode of a valid input X: Pillow `ImageOps.exif_transpose(Image.open(X))` (frame 0 for an
animated GIF) then `.convert("RGB")`, EXCEPT for 16-bit inputs, where the reference is
round(v / 257) per channel (= the `image` crate's 16→8 bit conversion) rather than what Pillow does
(Pillow reads 16-bit RGB PNG as 8-bit by dropping the low byte, v >> 8, and reads 16-bit gray as mode
I;16, whose convert("RGB") clips at 255, i.e. almost everything white). Alpha is dropped, not
composited (convert("RGB") and the crate's to_rgb8() both keep the colour channels as stored).

Manifest entry fields: `file`; `expected` (path under fixtures/formats/ or null for corrupt files);
`width`, `height` (after orientation; for corrupt files the size in the header when there is one, else
null); `tolerance` (max |Rust - expected| per channel and pixel that a correct decoder may show);
`valid` (false = the decoder should return an error; see `may_decode`); `may_decode` (corrupt files
only: true where a lenient decoder may still return an image, e.g. zune-jpeg fills a truncated scan);
`format`; `source` (how the file was made); `pillow` (what Pillow reports: mode, orientation, frames,
or the error it raised); `note`.

Tolerances: 0 for every lossless format (PNG, GIF, BMP, lossless WebP): the bytes define the pixels.
JPEG and lossy WebP are only specified up to decoder accuracy (IDCT, chroma upsampling, YCbCr→RGB
rounding). `--check` measures this (needs `opencv-python-headless` and `jpeglib` from PyPI; not
needed for generating): OpenCV's decoders must agree with the references (within the tolerance),
and for JPEG a bit-level numpy emulation of zune-jpeg 0.5 (its integer IDCT incl. the DC-only
shortcut, its separable "fancy" h2v2 upsampling with rounding after each direction, its 14-bit
YCbCr→RGB and its Adobe-CMYK blend, all ported from zune-jpeg 0.5.15's scalar code) run on the
file's DCT coefficients must stay within the tolerance; libjpeg 6b / 9e / turbo (jpeglib, islow and
IFAST IDCT) are printed for comparison only. Measured on these files: zune-jpeg emulation max 3 (mean
0.35) for the colour JPEGs, 1 for gray and CMYK; OpenCV and libjpeg 6b / turbo islow 0 (OpenCV's own
CMYK->RGB: 2). libjpeg 9e (chroma upsampling in the DCT domain: up to 16) and IFAST (up to 18) are much
further off, but no Rust decoder does that. Tolerances = emulated zune-jpeg max + 1..2.
"""

import argparse
import io
import json
import re
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import skimage.data
import skimage.transform
from PIL import Image, ImageOps, features

ROOT = Path(__file__).resolve().parent.parent
W, H = 48, 32
CROP = (slice(30, 270), slice(110, 470))  # 240×360 rows×cols: aspect 1.5 = W/H

# Per-file tolerances (see the module docstring; measured numbers in the manifest notes).
TOL_JPEG_COLOR = 5  # 4:2:0 YCbCr: IDCT + chroma upsampling + colour conversion rounding
TOL_JPEG_GRAY = 2   # gray: IDCT rounding only
TOL_JPEG_CMYK = 3   # 4:4:4:4 CMYK: IDCT on four channels + the C*K/255 blend rounding
TOL_WEBP_LOSSY = 3  # image-webp ports libwebp's integer YUV→RGB and fancy upsampling: expect 0

EXIF_ORIENTATION = 0x0112
# exif_transpose's operation for each orientation, and its inverse (to make the stored pixels).
ORIENT_OP = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90}
ORIENT_INV = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


# ----------------------------------------------------------------------------------------------
# content


def content():
    """Float RGB in [0, 1], H×W×3, and an alpha channel (uint8, has 0, 255 and a ramp between)."""
    crop = skimage.data.astronaut()[CROP].astype(np.float64) / 255.0
    f = skimage.transform.resize(crop, (H, W), order=1, anti_aliasing=True, mode="reflect")
    f = np.clip(f, 0.0, 1.0)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    t = (xx + 0.5 * yy) / ((W - 1) + 0.5 * (H - 1))
    alpha = np.clip(np.round((t - 0.15) / 0.7 * 255.0), 0, 255).astype(np.uint8)
    # a fully transparent notch and an opaque dot, so alpha is not just a ramp
    alpha[2:8, 30:36] = 0
    alpha[24:28, 4:8] = 255
    return f, alpha


def to8(f):
    return np.round(f * 255.0).astype(np.uint8)


def to16(f):
    return np.round(f * 65535.0).astype(np.uint16)


def luma(f):
    return f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114


# ----------------------------------------------------------------------------------------------
# writers


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_rgb16(a):
    """16-bit/channel RGB PNG (Pillow cannot write one): filter 0 on every row, zlib level 9."""
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in a)
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw, 9))
            + png_chunk(b"IEND", b""))


def save(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def exif_with_orientation(n):
    ex = Image.Exif()
    ex[EXIF_ORIENTATION] = n
    return ex


def png_chunk_order(data):
    out, pos = [], 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        out.append(data[pos + 4:pos + 8].decode("ascii"))
        pos += 12 + n
    return out


def make_inputs():
    """name -> (bytes, format, source description, extra note)."""
    f, alpha = content()
    rgb8 = to8(f)
    D = Image.fromarray(rgb8, "RGB")
    gray8 = np.asarray(D.convert("L"))
    rgba = Image.fromarray(np.dstack([rgb8, alpha]), "RGBA")
    files = {}

    def add(name, data, fmt, source, note=""):
        files[name] = (data, fmt, source, note)

    # --- PNG
    add("rgb.png", save(D, "PNG"), "png", "Pillow RGB, 8-bit truecolour")
    add("rgba.png", save(rgba, "PNG"), "png", "Pillow RGBA, 8-bit truecolour+alpha",
        "alpha has 0 (a notch at x 30..36, y 2..8), 255 and a diagonal ramp; RGB under alpha 0 is kept")
    add("gray.png", save(Image.fromarray(gray8, "L"), "PNG"), "png", "Pillow L (ITU-R 601 luma of rgb)")
    add("gray_alpha.png", save(Image.fromarray(np.dstack([gray8, alpha]), "LA"), "PNG"), "png",
        "Pillow LA")
    rgb16 = to16(f)
    add("rgb16.png", png_rgb16(rgb16), "png",
        "hand-written 16-bit RGB PNG (round(f*65535) of the float content, low bytes meaningful)")
    g16 = np.round(luma(f) * 65535.0).astype(np.uint16)
    add("gray16.png", save(Image.fromarray(g16), "PNG"), "png", "Pillow I;16 -> 16-bit gray PNG")
    pal = D.quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    # the most frequent index becomes fully transparent (tRNS), to check that the colour survives
    counts = np.bincount(np.asarray(pal).ravel(), minlength=16)
    tindex = int(np.argmax(counts))
    add("palette.png", save(pal, "PNG", bits=4, transparency=tindex), "png",
        f"Pillow P, 16 colours (median cut, no dither), 4 bits per pixel, tRNS makes index {tindex} "
        "fully transparent",
        f"palette index {tindex} ({int(counts[tindex])} pixels) is transparent: expected keeps its "
        "palette colour (alpha dropped); the image crate gives RGBA8, to_rgb8() must match")

    # --- JPEG
    add("rgb.jpg", save(D, "JPEG", quality=95), "jpeg", "Pillow RGB, quality 95, 4:2:0, baseline")
    add("progressive.jpg", save(D, "JPEG", quality=90, progressive=True), "jpeg",
        "Pillow RGB, quality 90, 4:2:0, progressive")
    add("gray.jpg", save(Image.fromarray(gray8, "L"), "JPEG", quality=95), "jpeg",
        "Pillow L, quality 95 (one component)")
    # CMYK with real black (K = 1 - max(RGB)); Pillow's own RGB->CMYK would give K = 0 everywhere.
    k = 1.0 - f.max(axis=2)
    denom = np.where(k < 1.0, 1.0 - k, 1.0)
    cmy = (1.0 - f - k[..., None]) / denom[..., None]
    cmyk = np.dstack([cmy, k])
    add("cmyk.jpg", save(Image.fromarray(to8(cmyk), "CMYK"), "JPEG", quality=95), "jpeg",
        "Pillow CMYK (C,M,Y = (1-RGB-K)/(1-K), K = 1-max(RGB)), quality 95; Pillow stores Adobe-"
        "inverted samples (255-v) with an Adobe APP14 marker, transform 0, no subsampling",
        "reference = Pillow's CMYK->RGB: R = (255-C)(255-K)/255 (Pillow un-inverts on read); "
        "zune-jpeg multiplies the stored (inverted) samples: R = c'k'/255 -- same formula")
    for n in (6, 3, 8):
        stored = D.transpose(ORIENT_INV[n])
        add(f"exif_orient_{n}.jpg", save(stored, "JPEG", quality=95, exif=exif_with_orientation(n)),
            "jpeg",
            f"Pillow RGB quality 95, stored {stored.width}x{stored.height} (unrotated), EXIF Orientation={n}",
            "decode then apply the EXIF orientation (image crate: decoder.orientation() + "
            "DynamicImage::apply_orientation); expected is after orientation")
    stored = D.transpose(ORIENT_INV[6])
    data = save(stored, "PNG", exif=exif_with_orientation(6))
    add("exif_orient_6.png", data, "png",
        f"Pillow RGB PNG stored {stored.width}x{stored.height}, eXIf chunk with Orientation=6 "
        f"(chunks: {' '.join(png_chunk_order(data))})",
        "eXIf precedes IDAT, so the png crate reports it before decoding")

    # --- WebP
    add("lossless.webp", save(rgba, "WEBP", lossless=True, quality=100, method=4, exact=True),
        "webp", "Pillow RGBA, lossless (VP8L), exact=True (RGB under alpha 0 kept)")
    add("lossy.webp", save(D, "WEBP", quality=80, method=4), "webp", "Pillow RGB, lossy (VP8) quality 80")

    # --- GIF
    add("still.gif", save(D, "GIF"), "gif", "Pillow RGB -> adaptive 256-colour palette, single frame")
    frames = [D, D.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ImageOps.invert(D)]
    add("anim.gif", save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0),
        "gif", "Pillow, 3 frames (photo, mirrored photo, inverted photo), 100 ms, loop forever",
        "only frame 0 counts; frames 1 and 2 (full-canvas, no transparency) differ from it in >99% of "
        "pixels by ~80-120 levels on average, so decoding a later frame (or compositing) fails")

    # --- BMP
    add("rgb.bmp", save(D, "BMP"), "bmp", "Pillow RGB, 24-bit BI_RGB, bottom-up (48*3 = 144 bytes per row, no padding)")
    add("rgba.bmp", save(rgba, "BMP"), "bmp",
        "Pillow RGBA -> 32-bit BI_RGB, 40-byte BITMAPINFOHEADER, alpha in the 4th byte",
        "with BI_RGB the 4th byte is officially unused: Pillow reads it as RGB (BGRX), the image "
        "crate as Rgb8 (ImageType::RGB32); either way the colour channels are the content")

    # --- corrupt
    png = files["rgb.png"][0]
    jpg = files["rgb.jpg"][0]
    add("truncated.png", png[: len(png) * 6 // 10], "png", f"first 60% ({len(png) * 6 // 10} of {len(png)} bytes) of rgb.png")
    add("truncated.jpg", jpg[: len(jpg) * 6 // 10], "jpeg", f"first 60% ({len(jpg) * 6 // 10} of {len(jpg)} bytes) of rgb.jpg")
    add("not_an_image.png", b"This is a text file, not a PNG image.\n", "png", "plain text with a .png name")
    add("empty.png", b"", "png", "0 bytes")
    return files, rgb8, rgb16, g16


CORRUPT = {
    "truncated.png": (False, "IDAT stream ends early: must be an error"),
    "truncated.jpg": (True, "scan data ends early: Pillow raises, but zune-jpeg (non-strict, as the image "
                            "crate configures it) may fill the missing MCUs and return an image; accept "
                            "either an error or a 48x32 image"),
    "not_an_image.png": (False, "no PNG signature: must be an error (guessing the format from content "
                                "also fails)"),
    "empty.png": (False, "0 bytes: must be an error"),
}


# ----------------------------------------------------------------------------------------------
# reference decode


def pillow_decode(data):
    im = Image.open(io.BytesIO(data))
    info = {"mode": im.mode, "size": list(im.size), "format": im.format}
    n_frames = getattr(im, "n_frames", 1)
    if n_frames > 1:
        info["frames"] = n_frames
    im.seek(0)
    orient = im.getexif().get(EXIF_ORIENTATION)
    if orient is not None:
        info["orientation"] = int(orient)
    im.load()
    t = ImageOps.exif_transpose(im)
    return t, info


def reference(name, data, rgb16, g16):
    """(H×W×3 uint8 reference, pillow info dict, note on what Pillow itself did)."""
    t, info = pillow_decode(data)
    pil_rgb = np.asarray(t.convert("RGB"))
    if name == "rgb16.png":
        ref = np.round(rgb16 / 257.0).astype(np.uint8)
        assert np.array_equal(pil_rgb, (rgb16 >> 8).astype(np.uint8)), "Pillow no longer truncates 16-bit RGB"
        diff = int(np.abs(pil_rgb.astype(int) - ref).max())
        frac = float((pil_rgb != ref).mean())
        return ref, info, (f"Pillow opens it as mode {info['mode']} keeping the high byte (v >> 8); "
                           f"expected uses round(v/257) instead (differs from Pillow by up to {diff} "
                           f"on {frac:.0%} of values)")
    if name == "gray16.png":
        raw = np.asarray(t)
        assert raw.dtype == np.uint16 and np.array_equal(raw, g16)
        ref = np.repeat(np.round(g16 / 257.0).astype(np.uint8)[..., None], 3, axis=2)
        white = float((pil_rgb == 255).all(axis=2).mean())
        return ref, info, (f"Pillow opens it as mode {info['mode']}; its convert('RGB') clips at 255 "
                           f"({white:.0%} of pixels white), so expected is round(v/257) replicated to RGB")
    return pil_rgb, info, ""


# ----------------------------------------------------------------------------------------------
# main


def generate(out):
    files, rgb8, rgb16, g16 = make_inputs()
    (out / "expected").mkdir(parents=True, exist_ok=True)
    manifest, refs = [], {}
    for name, (data, fmt, source, note) in files.items():
        (out / name).write_bytes(data)
        entry = {"file": name}
        if name in CORRUPT:
            may_decode, why = CORRUPT[name]
            try:
                t, info = pillow_decode(data)
                pil = f"decoded {t.size} (unexpected)"
            except Exception as e:  # noqa: BLE001 -- record whatever Pillow says
                pil = f"{type(e).__name__}: {re.sub(r' object at 0x[0-9a-f]+', '', str(e))}"
            size = None
            try:
                size = Image.open(io.BytesIO(data)).size  # header only
            except Exception:  # noqa: BLE001
                pass
            entry.update(expected=None, width=size[0] if size else None, height=size[1] if size else None,
                         tolerance=None, valid=False, may_decode=may_decode, format=fmt, source=source,
                         pillow=pil, note=why)
            manifest.append(entry)
            continue
        ref, info, pil_note = reference(name, data, rgb16, g16)
        assert ref.shape == (H, W, 3), (name, ref.shape)
        refs[name] = ref
        exp = f"expected/{name}.png"
        (out / exp).write_bytes(save(Image.fromarray(ref, "RGB"), "PNG"))
        if fmt == "jpeg":
            tol = TOL_JPEG_GRAY if info["mode"] == "L" else TOL_JPEG_CMYK if info["mode"] == "CMYK" else TOL_JPEG_COLOR
        elif name == "lossy.webp":
            tol = TOL_WEBP_LOSSY
        else:
            tol = 0
        notes = [n for n in (note, pil_note) if n]
        if name == "anim.gif":
            notes.append("Pillow returns frame 0 in mode P; later frames it would give as RGB")
        if tol:
            notes.append(TOL_NOTES.get(name) or TOL_NOTES[fmt])
        entry.update(expected=exp, width=W, height=H, tolerance=tol, valid=True, format=fmt,
                     source=source, pillow=info, note="; ".join(notes))
        manifest.append(entry)
    # sanity: the lossless decodes are the content itself
    assert np.array_equal(refs["rgb.png"], rgb8)
    for name in ("exif_orient_6.png", "rgb.bmp", "lossless.webp", "rgba.png", "rgba.bmp"):
        assert np.array_equal(refs[name], rgb8), name
    for name in ("exif_orient_3.jpg", "exif_orient_6.jpg", "exif_orient_8.jpg", "rgb.jpg"):
        assert np.abs(refs[name].astype(int) - rgb8).mean() < 4, name  # orientation right
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return files, refs


TOL_NOTES = {
    "jpeg": (f"tolerance {TOL_JPEG_COLOR}: decoders differ in IDCT, chroma upsampling and YCbCr->RGB "
             "rounding; an emulation of zune-jpeg 0.5 differs from this reference by max 3 (mean 0.35), "
             "libjpeg-turbo/OpenCV by 0 (scripts/make_format_fixtures.py --check)"),
    "gray.jpg": (f"tolerance {TOL_JPEG_GRAY}: IDCT rounding only (no chroma); zune-jpeg emulation max 1"),
    "cmyk.jpg": (f"tolerance {TOL_JPEG_CMYK}: IDCT rounding on 4 channels plus the C*K/255 rounding; "
                 "zune-jpeg emulation max 1, OpenCV (its own CMYK->RGB) max 2"),
    "lossy.webp": (f"tolerance {TOL_WEBP_LOSSY}: VP8 reconstruction is bit-exact by spec; image-webp "
                   "copies libwebp's fixed-point YUV->RGB and fancy upsampling, so 0 is expected; "
                   "slack for rounding differences"),
}


# ----------------------------------------------------------------------------------------------
# --check: other decoders


def zune_idct(blocks):
    """zune-jpeg 0.5 scalar `idct_int` (+ `idct_int_1x1` for DC-only blocks) on dequantised
    coefficient blocks [..., 8 (row), 8 (col)] -> samples 0..255 (level shift included)."""
    c = blocks.astype(np.int64)

    def pass_(s, rnd, shift, clamp):
        p2, p3 = s[2], s[6]
        p1 = (p2 + p3) * 2217
        t2 = p1 + p3 * -7567
        t3 = p1 + p2 * 3135
        t0 = (s[0] + s[4]) << 12
        t1 = (s[0] - s[4]) << 12
        x0, x3, x1, x2 = t0 + t3 + rnd, t0 - t3 + rnd, t1 + t2 + rnd, t1 - t2 + rnd
        t0, t1, t2, t3 = s[7], s[5], s[3], s[1]
        p3, p4, p1, p2 = t0 + t2, t1 + t3, t0 + t3, t1 + t2
        p5 = (p3 + p4) * 4816
        t0, t1, t2, t3 = t0 * 1223, t1 * 8410, t2 * 12586, t3 * 6149
        p1 = p5 + p1 * -3685
        p2 = p5 + p2 * -10497
        p3 = p3 * -8034
        p4 = p4 * -1597
        t3 = t3 + p1 + p4
        t2 = t2 + p2 + p3
        t1 = t1 + p2 + p4
        t0 = t0 + p1 + p3
        outs = [x0 + t3, x1 + t2, x2 + t1, x3 + t0, x3 - t0, x2 - t1, x1 - t2, x0 - t3]
        outs = [o >> shift for o in outs]
        return [np.clip(o, 0, 255) for o in outs] if clamp else outs

    # vertical pass: per column, over rows
    rows = pass_([c[..., k, :] for k in range(8)], 512, 10, False)
    v = np.stack(rows, axis=-2)
    cols = pass_([v[..., :, k] for k in range(8)], 512 + 65536 + (128 << 17), 17, True)
    out = np.stack(cols, axis=-1)
    dc_only = (c.reshape(c.shape[:-2] + (64,))[..., 1:] == 0).all(axis=-1)
    dc = np.clip((c[..., 0, 0] + 4 + 1024) >> 3, 0, 255)
    out = np.where(dc_only[..., None, None], dc[..., None, None], out)
    return out


def zune_decode(path):
    """Emulate zune-jpeg's RGB output from the file's DCT coefficients (baseline or progressive)."""
    import jpeglib

    d = jpeglib.read_dct(str(path))
    comps = [d.Y] + ([d.Cb, d.Cr] if d.has_chrominance else []) + ([d.K] if d.has_black else [])
    planes = []
    for i, coef in enumerate(comps):
        q = d.qt[d.quant_tbl_no[i]].astype(np.int64)
        px = zune_idct(coef.astype(np.int64) * q)  # (bh, bw, 8, 8)
        bh, bw = px.shape[:2]
        planes.append(px.transpose(0, 2, 1, 3).reshape(bh * 8, bw * 8))
    sf = np.asarray(d.samp_factor)
    hmax, vmax = sf[:, 0].max(), sf[:, 1].max()

    def up_v(p):  # (3*near + far + 2) >> 2, edges replicate
        up = np.vstack([p[:1], p[:-1]])
        down = np.vstack([p[1:], p[-1:]])
        out = np.empty((p.shape[0] * 2, p.shape[1]), np.int64)
        out[0::2] = (3 * p + up + 2) >> 2
        out[1::2] = (3 * p + down + 2) >> 2
        return out

    def up_h(p):
        left = np.hstack([p[:, :1], p[:, :-1]])
        right = np.hstack([p[:, 1:], p[:, -1:]])
        out = np.empty((p.shape[0], p.shape[1] * 2), np.int64)
        out[:, 0::2] = (3 * p + left + 2) >> 2
        out[:, 1::2] = (3 * p + right + 2) >> 2
        return out

    ups = []
    for i, p in enumerate(planes):
        h, v = sf[i]
        if v * 2 == vmax:
            p = up_v(p)
        if h * 2 == hmax:
            p = up_h(p)
        assert p.shape[0] >= d.height and p.shape[1] >= d.width, p.shape
        ups.append(p[: d.height, : d.width])
    if len(ups) == 1:
        return np.repeat(ups[0].astype(np.uint8)[..., None], 3, axis=2)
    if len(ups) == 4:  # Adobe CMYK, stored inverted: R = blinn(c', k')
        k = ups[3]
        return np.dstack([blinn(ups[i], k) for i in range(3)]).astype(np.uint8)
    y, cb, cr = ups[0], ups[1] - 128, ups[2] - 128
    y0 = y * 16384 + 8191
    r = (y0 + cr * 22970) >> 14
    g = (y0 + cr * -11700 + cb * -5638) >> 14
    b = (y0 + cb * 29032) >> 14
    return np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)


def blinn(a, b):
    """zune-jpeg's a*b/255 with rounding (CMYK blend)."""
    t = a * b + 128
    return (t + (t >> 8)) >> 8


def orient_back(im):
    return im  # stored orientation (cmyk.jpg has none)


def orient(a, n):
    if not n or n == 1:
        return a
    return np.asarray(Image.fromarray(a).transpose(ORIENT_OP[n]))


def check(out):
    import cv2
    import jpeglib

    manifest = json.loads((out / "manifest.json").read_text())
    rows, bad = [], []
    for e in manifest:
        name = e["file"]
        path = out / name
        if not e["valid"]:
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            rows.append((name, "opencv", "error" if img is None else f"decoded {img.shape[1]}x{img.shape[0]}"))
            continue
        ref = np.asarray(Image.open(out / e["expected"]))
        tol = e["tolerance"]

        def cmp(label, a, limit=None):
            if a is None or a.shape != ref.shape:
                rows.append((name, label, f"shape {None if a is None else a.shape}"))
                if limit is not None:
                    bad.append((name, label))
                return
            dd = np.abs(a.astype(int) - ref.astype(int))
            rows.append((name, label, f"max {dd.max()}, mean {dd.mean():.3f}"))
            if limit is not None and dd.max() > limit:
                bad.append((name, label, int(dd.max())))

        # OpenCV: libpng/libjpeg-turbo/libwebp/own BMP+GIF readers; IMREAD_COLOR applies EXIF orientation.
        img = cv2.imread(str(path), cv2.IMREAD_COLOR_RGB)
        if name.endswith("16.png"):
            raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if raw.ndim == 2:
                raw = np.repeat(raw[..., None], 3, axis=2)
            else:
                raw = raw[..., ::-1]
            img = np.round(raw / 257.0).astype(np.uint8)
        cmp("opencv", img, tol)
        if e["format"] == "jpeg":
            n = e["pillow"].get("orientation")
            cmp("zune-jpeg emulation", orient(zune_decode(path), n), tol)
            cmyk = e["pillow"]["mode"] == "CMYK"
            for ver, dct in (("6b", None), ("9e", None), ("turbo210", None), ("turbo210", jpeglib.JDCT_IFAST)):
                with jpeglib.version(ver):
                    sp = jpeglib.read_spatial(str(path), dct_method=dct,
                                              out_color_space=jpeglib.JCS_CMYK if cmyk else jpeglib.JCS_RGB).spatial
                sp = np.ascontiguousarray(sp).astype(np.int64)
                if cmyk:  # libjpeg hands out the stored (Adobe-inverted) samples
                    pil_cmyk = np.asarray(orient_back(Image.open(path))).astype(np.int64)
                    assert np.array_equal(sp, 255 - pil_cmyk), "Pillow's CMYK is not the un-inverted samples"
                    sp = np.dstack([blinn(sp[..., i], sp[..., 3]) for i in range(3)])
                label = f"libjpeg {ver} {'ifast' if dct is not None else 'islow'}"
                cmp(label, orient(sp.astype(np.uint8), n))
    w = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:<22} {r[2]}")
    if bad:
        sys.exit(f"outside tolerance: {bad}")
    print("all decoders within tolerance")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "fixtures" / "formats")
    ap.add_argument("--check", action="store_true", help="cross-check with OpenCV and a zune-jpeg emulation")
    args = ap.parse_args()
    print(f"Pillow {Image.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}, "
          f"libwebp {features.version('webp')}, zlib {features.version('zlib')})")
    files, _ = generate(args.out)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {len(files)} inputs to {args.out}, {total} bytes in all")
    if args.check:
        check(args.out)


if __name__ == "__main__":
    main()
