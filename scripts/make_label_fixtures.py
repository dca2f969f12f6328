"""Reference values for crate/src/labels (the COCO / YOLO / PNG formats), from pycocotools.

Writes fixtures/labels/pycocotools.json (seeded, deterministic):
  masks:    random masks with holes and several parts (and edge cases), stored as row-major run
            lengths starting with a background run; for each, pycocotools' encode → compressed
            counts string, the uncompressed column-major counts, area, toBbox, and the areas of its
            8-connected components in raster order of their first pixel (a plain flood fill here);
  strings:  compressed strings to decode (from other masks, so the decoder is tested on strings it
            did not make), with their area, bbox and the decoded mask's row-major runs;
  polygons: random polygons (convex, star-shaped, self-intersecting, partly outside the image)
            rasterised by frPyObjects, each object's polygons merged: counts string, area, bbox.

    python -m venv /work/venv-labels && /work/venv-labels/bin/pip install pycocotools numpy pillow
    /work/venv-labels/bin/python scripts/make_label_fixtures.py
"""

import importlib.metadata
import json
import pathlib

import numpy as np
from pycocotools import mask as mask_utils

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "labels" / "pycocotools.json"


def row_major_runs(m):
    """Run lengths over the row-major pixels, starting with a background run."""
    flat = m.reshape(-1).astype(np.uint8)
    runs, value, run = [], 0, 0
    for v in flat:
        if v != value:
            runs.append(run)
            run, value = 0, v
        run += 1
    runs.append(run)
    return runs


def components_8(m):
    """Areas of the 8-connected components, in raster order of their first pixel."""
    h, w = m.shape
    seen = np.zeros_like(m, dtype=bool)
    areas = []
    for y in range(h):
        for x in range(w):
            if m[y, x] and not seen[y, x]:
                stack, area = [(y, x)], 0
                seen[y, x] = True
                while stack:
                    cy, cx = stack.pop()
                    area += 1
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            ny, nx = cy + dy, cx + dx
                            if 0 <= ny < h and 0 <= nx < w and m[ny, nx] and not seen[ny, nx]:
                                seen[ny, nx] = True
                                stack.append((ny, nx))
                areas.append(area)
    return areas


def random_mask(rng, h, w):
    """Blobs (ellipses, boxes) minus smaller ellipses (holes), plus speckle."""
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), dtype=bool)
    for _ in range(rng.integers(1, 5)):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(1, h / 2 + 1), rng.uniform(1, w / 2 + 1)
        if rng.random() < 0.7:
            m |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            m |= (abs(yy - cy) <= ry / 2) & (abs(xx - cx) <= rx / 2)
    for _ in range(rng.integers(0, 4)):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.5, h / 5 + 1), rng.uniform(0.5, w / 5 + 1)
        m &= ~(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1)
    speckle = rng.random((h, w)) < rng.choice([0.0, 0.002, 0.01])
    return m ^ speckle


def encode(m):
    return mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))


def uncompressed_counts(m):
    """Column-major counts (what COCO writes for iscrowd regions)."""
    flat = m.T.reshape(-1).astype(np.uint8)
    return row_major_runs(flat[None, :])


def mask_case(m):
    rle = encode(m)
    counts = uncompressed_counts(m)
    # pycocotools reads the uncompressed list to the same compressed string.
    h, w = m.shape
    from_list = mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    assert from_list["counts"] == rle["counts"]
    return {
        "width": int(w),
        "height": int(h),
        "runs": [int(v) for v in row_major_runs(m)],
        "counts": rle["counts"].decode("ascii"),
        "uncompressed": [int(v) for v in counts],
        "area": int(mask_utils.area(rle)),
        "bbox": [int(v) for v in mask_utils.toBbox(rle)],
        "components": components_8(m),
    }


def random_polygon(rng, h, w):
    kind = rng.choice(["convex", "star", "scribble"])
    k = int(rng.integers(3, 12))
    cx, cy = rng.uniform(-0.1 * w, 1.1 * w), rng.uniform(-0.1 * h, 1.1 * h)
    if kind == "scribble":  # self-intersecting
        pts = np.stack([rng.uniform(-2, w + 2, k), rng.uniform(-2, h + 2, k)], 1)
    else:
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(1, min(h, w) / 2 + 2, k) if kind == "star" else np.full(k, rng.uniform(1, min(h, w) / 2 + 2))
        pts = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1)
    return [round(float(v), 3) for v in pts.reshape(-1)]


def main():
    rng = np.random.default_rng(20240611)
    masks = []
    # Edge cases: empty, full, single pixels (first / last), one row, one column, a checkerboard.
    edge = [
        np.zeros((5, 7), bool),
        np.ones((4, 3), bool),
        np.eye(1, dtype=bool),
        np.pad(np.ones((1, 1), bool), ((0, 3), (0, 4))),
        np.pad(np.ones((1, 1), bool), ((3, 0), (4, 0))),
        rng.random((1, 40)) < 0.5,
        rng.random((40, 1)) < 0.5,
        (np.indices((9, 11)).sum(0) % 2).astype(bool),
    ]
    masks += [mask_case(m) for m in edge]
    for h, w in [(8, 8), (13, 21), (30, 40), (61, 97), (100, 75), (150, 200), (37, 300)]:
        for _ in range(3):
            masks.append(mask_case(random_mask(rng, h, w)))
    # A long run: differences of more than one 5-bit group, both signs.
    big = np.zeros((600, 700), bool)
    big[10:590, 20:680] = True
    big[200:400, 300:310] = False
    masks.append(mask_case(big))

    strings = []
    for h, w in [(20, 30), (64, 48), (120, 90)]:
        for _ in range(3):
            m = random_mask(rng, h, w)
            rle = encode(m)
            dec = mask_utils.decode(rle).astype(bool)
            strings.append({
                "width": w,
                "height": h,
                "counts": rle["counts"].decode("ascii"),
                "area": int(mask_utils.area(rle)),
                "bbox": [int(v) for v in mask_utils.toBbox(rle)],
                "runs": [int(v) for v in row_major_runs(dec)],
            })

    polygons = []
    for h, w in [(10, 10), (24, 32), (50, 40), (80, 120), (7, 300)]:
        for _ in range(6):
            n = int(rng.integers(1, 4))
            polys = [random_polygon(rng, h, w) for _ in range(n)]
            rles = mask_utils.frPyObjects(polys, h, w)
            each = [r["counts"].decode("ascii") for r in rles]
            merged = mask_utils.merge(rles)
            polygons.append({
                "width": w,
                "height": h,
                "polygons": polys,
                "each_counts": each,
                "counts": merged["counts"].decode("ascii"),
                "area": int(mask_utils.area(merged)),
                "bbox": [int(v) for v in mask_utils.toBbox(merged)],
            })
    # Pixel-edge rectangles: the convention the Rust polygons rely on.
    for xy in [[0, 0, 4, 0, 4, 4, 0, 4], [2, 1, 6, 1, 6, 4, 2, 4], [0.5, 0.5, 3.5, 0.5, 3.5, 3.5, 0.5, 3.5]]:
        r = mask_utils.frPyObjects([xy], 8, 10)[0]
        polygons.append({
            "width": 10, "height": 8, "polygons": [xy], "each_counts": [r["counts"].decode("ascii")],
            "counts": r["counts"].decode("ascii"), "area": int(mask_utils.area(r)),
            "bbox": [int(v) for v in mask_utils.toBbox(r)],
        })

    data = {
        "generator": "scripts/make_label_fixtures.py",
        "pycocotools": importlib.metadata.version("pycocotools"),
        "numpy": np.__version__,
        "masks": masks,
        "strings": strings,
        "polygons": polygons,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size} bytes, {len(masks)} masks, "
          f"{len(strings)} strings, {len(polygons)} polygon objects")


if __name__ == "__main__":
    main()
