"""Reads a COCO instances file with pycocotools, the reference reader, and prints one JSON line per
annotation with what pycocotools makes of it: the mask decoded by `annToMask`, its pixel count and
shape, and `area` and `bbox` computed by `maskUtils` from the RLE (not copied from the file), beside
the file's own `area` and `bbox`. crate/tests/label.rs compares these with the crate's reading.

Usage: python scripts/check_coco.py INSTANCES.json   (needs pycocotools and numpy)
"""

import contextlib
import json
import sys

from pycocotools import mask as mask_utils
from pycocotools.coco import COCO


def main(path):
    with contextlib.redirect_stdout(sys.stderr):  # COCO() reports its progress on stdout
        coco = COCO(path)
    for annotation in coco.dataset["annotations"]:
        image = coco.imgs[annotation["image_id"]]
        rle = coco.annToRLE(annotation)
        mask = coco.annToMask(annotation)
        print(json.dumps({
            "id": annotation["id"],
            "file_name": image["file_name"],
            "category": coco.cats[annotation["category_id"]]["name"],
            "iscrowd": annotation["iscrowd"],
            "area": int(mask_utils.area(rle)),
            "bbox": [int(v) for v in mask_utils.toBbox(rle)],
            "file_area": annotation["area"],
            "file_bbox": annotation["bbox"],
            "pixels": int(mask.sum()),
            "shape": list(mask.shape),
        }))


if __name__ == "__main__":
    main(sys.argv[1])
