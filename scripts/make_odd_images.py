"""The odd image files the page's hardening tests open (tests/e2e/odd-inputs.test.mjs): every
format variant a person may drop on the page, each small. Run with Pillow:
`python scripts/make_odd_images.py` writes fixtures/odd/ (committed; deterministic)."""
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "odd"


def gradient(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1).astype(np.uint8)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(gradient(96, 64))
    Image.new("RGB", (1, 1), (200, 40, 40)).save(OUT / "one-pixel.png")
    # 16 bits per channel (Pillow writes I;16 grayscale as a 16-bit PNG).
    Image.fromarray(gradient(96, 64)[..., 0].astype(np.uint16) * 257).save(OUT / "gray-16bit.png")
    rgb.convert("CMYK").save(OUT / "cmyk.jpg", quality=90)
    # Stored 96×64 with EXIF orientation 6 (rotate 90° clockwise to display): shown 64×96.
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(OUT / "exif-rotated.jpg", exif=exif.tobytes(), quality=90)
    frames = [Image.fromarray(np.roll(gradient(96, 64), shift * 8, axis=1)) for shift in range(3)]
    frames[0].save(OUT / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(OUT / "palette.png")
    alpha = rgb.convert("RGBA")
    alpha.putalpha(Image.fromarray(gradient(96, 64)[..., 1]))
    alpha.save(OUT / "alpha.png")
    rgb.save(OUT / "photo.webp", quality=80)
    rgb.save(OUT / "photo.bmp")
    (OUT / "drawing.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect width="96" height="64" fill="#4f8cff"/>'
        '<circle cx="48" cy="32" r="20" fill="#22d3ee"/></svg>\n'
    )
    (OUT / "text.png").write_text("this is a text file with an image's name\n")
    (OUT / "page.jpg").write_text("<!doctype html><html><body>Not Found</body></html>\n")
    png = BytesIO()
    rgb.save(png, format="PNG")
    (OUT / "truncated.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    (OUT / "empty.png").write_bytes(b"")
    # A decompression bomb: a BMP header that claims 40000×40000 (4.8 GB of pixels), and no pixels.
    row = (40000 * 3 + 3) // 4 * 4
    header = b"BM" + (54 + row * 40000 & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4) + (54).to_bytes(4, "little")
    header += (40).to_bytes(4, "little") + (40000).to_bytes(4, "little") + (40000).to_bytes(4, "little")
    header += (1).to_bytes(2, "little") + (24).to_bytes(2, "little") + bytes(24)
    (OUT / "bomb.bmp").write_bytes(header)


if __name__ == "__main__":
    main()
