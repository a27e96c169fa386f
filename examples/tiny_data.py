"""Tiny generated data sets for the examples, so each one runs without downloading anything.

Images use Pillow; sounds, texts and tables the standard library only. Replace them with
your own folders: the layouts written here are the ones the examples upload.
"""

from __future__ import annotations

import math
import random
import struct
import wave
from pathlib import Path
from xml.etree import ElementTree as ET


def _shape_image(shape: str, size: int, rng: random.Random, box: tuple[int, int, int, int] | None = None):
    from PIL import Image, ImageDraw

    bg = tuple(rng.randint(0, 90) for _ in range(3))
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    for _ in range(size // 4):  # a little noise so the models do not see flat colors only
        x, y = rng.randrange(size), rng.randrange(size)
        draw.point((x, y), fill=tuple(rng.randint(0, 120) for _ in range(3)))
    if box is None:
        side = rng.randint(size * 3 // 10, size * 6 // 10)
        x0, y0 = rng.randint(0, size - side), rng.randint(0, size - side)
        box = (x0, y0, x0 + side, y0 + side)
    return img, draw, box


def _draw(draw, shape: str, box: tuple[int, int, int, int], rng: random.Random) -> None:
    color = tuple(rng.randint(170, 255) for _ in range(3))
    if shape == "circle":
        draw.ellipse(box, fill=color)
    elif shape == "square":
        draw.rectangle(box, fill=color)
    else:
        x0, y0, x1, y1 = box
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=color)


def image_folders(root: Path, *, classes=("circle", "square"), per_class: int = 8, size: int = 64,
                  seed: int = 0) -> Path:
    """``root/<class>/<class>_NN.png``: one folder per class (the SDK labels by folder)."""
    rng = random.Random(seed)
    for cls in classes:
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img, draw, box = _shape_image(cls, size, rng)
            _draw(draw, cls, box, rng)
            img.save(root / cls / f"{cls}_{i:02d}.png")
    return root


def detection_folder(root: Path, *, classes=("circle", "square"), n: int = 12, size: int = 96,
                     seed: int = 0) -> Path:
    """``det_NN.jpg`` with 1–2 shapes and ``det_NN.xml`` (PASCAL VOC) with their boxes."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        img, draw, _ = _shape_image("", size, rng)
        boxes: list[tuple[str, tuple[int, int, int, int]]] = []
        for j in range(rng.randint(1, 2)):
            side = rng.randint(size // 5, size // 3)
            x0 = rng.randint(0, size // 2 - side) + (size // 2 if j else 0)
            y0 = rng.randint(0, size - side)
            cls = classes[(k + j) % len(classes)]
            box = (x0, y0, x0 + side, y0 + side)
            _draw(draw, cls, box, rng)
            boxes.append((cls, box))
        img.save(root / f"det_{k:02d}.jpg", quality=90)
        ann = ET.Element("annotation")
        ET.SubElement(ann, "filename").text = f"det_{k:02d}.jpg"
        dims = ET.SubElement(ann, "size")
        for tag, value in (("width", size), ("height", size), ("depth", 3)):
            ET.SubElement(dims, tag).text = str(value)
        for cls, (x0, y0, x1, y1) in boxes:
            obj = ET.SubElement(ann, "object")
            ET.SubElement(obj, "name").text = cls
            ET.SubElement(obj, "difficult").text = "0"
            bnd = ET.SubElement(obj, "bndbox")
            for tag, value in (("xmin", x0), ("ymin", y0), ("xmax", x1), ("ymax", y1)):
                ET.SubElement(bnd, tag).text = str(value)
        ET.ElementTree(ann).write(root / f"det_{k:02d}.xml", encoding="utf-8", xml_declaration=True)
    return root


def _wav(path: Path, samples: list[float], rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(max(-1.0, min(1.0, s)) * 32767)) for s in samples))


def sound_folders(root: Path, *, classes=("tone", "noise"), per_class: int = 6, seconds: float = 1.5,
                  rate: int = 16000, seed: int = 0) -> Path:
    """``root/<class>/<class>_NN.wav`` (16-bit mono, longer than the 1 s minimum)."""
    rng = random.Random(seed)
    count = int(seconds * rate)
    for cls in classes:
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            amp = rng.uniform(0.3, 0.6)
            if cls == "tone":
                freq = rng.uniform(300, 1200)
                samples = [amp * math.sin(2 * math.pi * freq * t / rate) for t in range(count)]
            else:
                samples = [amp * rng.gauss(0, 0.5) for _ in range(count)]
            _wav(root / cls / f"{cls}_{i:02d}.wav", samples, rate)
    return root


_POSITIVE = ["great {p}, works perfectly", "love this {p}", "the {p} is excellent", "very happy with the {p}",
             "the {p} arrived early and works well", "fantastic {p}, would buy again"]
_NEGATIVE = ["the {p} broke after a day", "terrible {p}, do not buy", "the {p} never worked",
             "very disappointed with the {p}", "the {p} arrived damaged", "awful {p}, asked for a refund"]
_PRODUCTS = ["phone", "kettle", "lamp", "chair", "speaker", "backpack", "watch", "blender"]


def text_folder(root: Path, *, per_class: int = 24, seed: int = 0) -> Path:
    """``reviews.txt`` (a review per line) and ``reviews_result.txt`` (its label per line)."""
    rng = random.Random(seed)
    rows = [(rng.choice(_POSITIVE).format(p=rng.choice(_PRODUCTS)) + f" #{i}", "positive") for i in range(per_class)]
    rows += [(rng.choice(_NEGATIVE).format(p=rng.choice(_PRODUCTS)) + f" #{i}", "negative") for i in range(per_class)]
    rng.shuffle(rows)
    root.mkdir(parents=True, exist_ok=True)
    (root / "reviews.txt").write_text("\n".join(text for text, _ in rows) + "\n")
    (root / "reviews_result.txt").write_text("\n".join(label for _, label in rows) + "\n")
    return root


def table_csv(path: Path, *, rows: int = 200, seed: int = 0) -> Path:
    """A headerless CSV, label last (yes/no): age, job, income, balance, contacts, label."""
    rng = random.Random(seed)
    jobs = ["admin", "technician", "services", "retired", "student"]
    lines = []
    for _ in range(rows):
        age = rng.randint(18, 79)
        job = rng.randrange(len(jobs))
        income = round(rng.lognormvariate(10, 0.4), 2)
        balance = round(rng.gauss(1500, 900), 1)
        contacts = rng.randint(0, 8)
        signal = 0.04 * (age - 48) + 1.2 * (math.log(income) - 10) / 0.4 + 0.0008 * (balance - 1500)
        signal += (0.0, 0.3, -0.2, 1.0, -0.8)[job] + rng.gauss(0, 0.5)
        lines.append(f"{age},{jobs[job]},{income:.2f},{balance:.1f},{contacts},{'yes' if signal > 0 else 'no'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
