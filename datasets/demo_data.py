"""Deterministic demo data for the five project types (tests, bench, "try it" projects).

Every generator returns ``list[tuple[key, bytes]]`` with keys relative to a dataset folder,
so callers can write them to any storage. Same arguments, same bytes.

The sound manifest's sources start with the placeholder ``{root}`` (see ``ROOT``): replace
it with the folder URI the files were written to (e.g. ``s3://bucket/data``) before
importing, since a manifest points at absolute locations.
"""

import io
import math
import wave
from datetime import datetime

import numpy as np
from PIL import Image, ImageDraw

from datasets.formats.manifest import format_time, make_annotation, manifest_line
from datasets.formats.voc import VocObject, write_voc

ROOT = "{root}"
SOUND_MANIFEST = "sound.manifest"
_DEMO_TIME = format_time(datetime(2024, 1, 1, 12, 0, 0))

Files = list[tuple[str, bytes]]


# --------------------------------------------------------------------------- images


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    base = rng.integers(0, 256, size=3)
    noise = rng.normal(0, 18, size=(size, size, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB")


def _contrasting(rng: np.random.Generator, bg: Image.Image) -> tuple[int, int, int]:
    mean = np.asarray(bg).reshape(-1, 3).mean(axis=0)
    while True:
        color = rng.integers(0, 256, size=3)
        if np.abs(color - mean).sum() > 200:
            return (int(color[0]), int(color[1]), int(color[2]))


def _draw(draw: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], color) -> None:
    x0, y0, x1, y1 = box
    if shape == "circle":
        draw.ellipse(box, fill=color)
    elif shape == "square":
        draw.rectangle(box, fill=color)
    elif shape == "triangle":
        draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=color)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def image_classification_files(
    *,
    per_class: int = 12,
    size: int = 96,
    classes: tuple[str, ...] = ("circle", "square", "triangle"),
    seed: int = 0,
) -> Files:
    """``img_NNNN.jpg`` shapes on noisy backgrounds; ``img_NNNN.txt`` labels for about 3/4 of
    each class (the rest is left unlabelled for the labelling UI)."""
    rng = np.random.default_rng(seed)
    items = [(cls, i) for cls in classes for i in range(per_class)]
    order = rng.permutation(len(items))
    labelled_per_class = per_class - per_class // 4
    files: Files = []
    for n, idx in enumerate(order, start=1):
        cls, i = items[idx]
        img = _background(rng, size)
        side = int(rng.integers(size * 3 // 10, size * 6 // 10))
        x0 = int(rng.integers(0, size - side))
        y0 = int(rng.integers(0, size - side))
        _draw(ImageDraw.Draw(img), cls, (x0, y0, x0 + side, y0 + side), _contrasting(rng, img))
        name = f"img_{n:04d}"
        files.append((f"{name}.jpg", _jpeg(img)))
        if i < labelled_per_class:
            files.append((f"{name}.txt", f"{cls}\n".encode()))
    return files


def object_detection_files(
    *, n: int = 20, size: int = 160, classes: tuple[str, ...] = ("circle", "square"), seed: int = 0
) -> Files:
    """``det_NNNN.jpg`` with 1–3 non-overlapping shapes and ``det_NNNN.xml`` with their exact boxes."""
    rng = np.random.default_rng(seed)
    files: Files = []
    for k in range(1, n + 1):
        img = _background(rng, size)
        draw = ImageDraw.Draw(img)
        boxes: list[tuple[int, int, int, int]] = []
        objects: list[VocObject] = []
        wanted = int(rng.integers(1, 4))
        for _attempt in range(50):
            if len(boxes) == wanted:
                break
            side = int(rng.integers(size // 6, size // 3))
            x0 = int(rng.integers(0, size - side))
            y0 = int(rng.integers(0, size - side))
            box = (x0, y0, x0 + side, y0 + side)
            if any(_overlap(box, b) for b in boxes):
                continue
            # Cycle classes on the first object so every class appears even in tiny sets.
            cls = classes[(k - 1) % len(classes)] if not boxes else classes[int(rng.integers(len(classes)))]
            _draw(draw, cls, box, _contrasting(rng, img))
            boxes.append(box)
            objects.append(VocObject(name=cls, xmin=box[0], ymin=box[1], xmax=box[2], ymax=box[3]))
        name = f"det_{k:04d}"
        files.append((f"{name}.jpg", _jpeg(img)))
        files.append(
            (f"{name}.xml", write_voc(filename=f"{name}.jpg", width=size, height=size, depth=3, objects=objects))
        )
    return files


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int], margin: int = 2) -> bool:
    return not (a[2] + margin < b[0] or b[2] + margin < a[0] or a[3] + margin < b[1] or b[3] + margin < a[1])


# --------------------------------------------------------------------------- tables

_CITIES = ("north", "south", "east", "west", "central")
_JOBS = ("admin", "technician", "services", "management", "student", "retired")


def tabular_csv(*, rows: int = 400, seed: int = 0, kind: str = "binary") -> bytes:
    """Headerless CSV, label last: binary (yes/no), multiclass (low/mid/high) or regression.

    Columns: age, job, city, income, balance (about 5 % missing), contacts, married (yes/no),
    label. The label depends on age, income, balance, job and city, so models can learn it.
    """
    if kind not in ("binary", "multiclass", "regression"):
        raise ValueError(f"unknown kind {kind!r}")
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, size=rows)
    job = rng.integers(0, len(_JOBS), size=rows)
    city = rng.integers(0, len(_CITIES), size=rows)
    income = np.round(rng.lognormal(10, 0.4, size=rows), 2)
    balance = np.round(rng.normal(1500, 900, size=rows), 1)
    contacts = rng.poisson(3, size=rows)
    married = rng.random(rows) < 0.55
    missing = rng.random(rows) < 0.05

    z_income = (np.log(income) - 10) / 0.4
    signal = (
        0.04 * (age - 48)
        + 1.2 * z_income
        + 0.0008 * (balance - 1500)
        + np.array([0.0, 0.3, -0.2, 1.0, -0.8, 0.6])[job]
        + np.array([0.5, -0.5, 0.0, 0.2, -0.2])[city]
    )
    noisy = signal + rng.normal(0, 0.5, size=rows)
    if kind == "binary":
        labels = np.where(noisy > np.median(noisy), "yes", "no")
    elif kind == "multiclass":
        cuts = np.quantile(noisy, [1 / 3, 2 / 3])
        labels = np.array(["low", "mid", "high"])[np.searchsorted(cuts, noisy)]
    else:
        labels = np.array([f"{100 + 25 * v:.2f}" for v in noisy])

    lines = []
    for r in range(rows):
        fields = [
            str(int(age[r])),
            _JOBS[job[r]],
            _CITIES[city[r]],
            f"{income[r]:.2f}",
            "" if missing[r] else f"{balance[r]:.1f}",
            str(int(contacts[r])),
            "yes" if married[r] else "no",
            str(labels[r]),
        ]
        lines.append(",".join(fields))
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- sound


def _wav(samples: np.ndarray, sr: int) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _sound(cls: str, rng: np.random.Generator, seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    amp = rng.uniform(0.3, 0.6)
    if cls == "tone":
        f = rng.uniform(300, 1200)
        y = np.sin(2 * math.pi * f * t)
    elif cls == "noise":
        y = rng.normal(0, 0.5, size=t.size)
    elif cls == "chirp":
        f0, f1 = rng.uniform(200, 500), rng.uniform(2000, 4000)
        y = np.sin(2 * math.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds)))
    else:
        # Other class names: a tone whose pitch depends on the name, so any classes work.
        f = 200 + (sum(map(ord, cls)) % 30) * 100 + rng.uniform(-20, 20)
        y = np.sign(np.sin(2 * math.pi * f * t)) * 0.7
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)  # no clicks at the ends
    return amp * y * fade + rng.normal(0, 0.01, size=t.size)


def sound_files(
    *,
    per_class: int = 8,
    classes: tuple[str, ...] = ("tone", "noise", "chirp"),
    seconds: float = 1.5,
    sr: int = 16000,
    seed: int = 0,
) -> Files:
    """``snd_NNNN.wav`` (16-bit PCM mono) and ``sound.manifest`` labelling about 3/4 of each
    class. Manifest sources are ``{root}/snd_NNNN.wav``: replace ``{root}`` with the folder
    URI before importing. Unlabelled files are simply not listed."""
    rng = np.random.default_rng(seed)
    items = [(cls, i) for cls in classes for i in range(per_class)]
    order = rng.permutation(len(items))
    labelled_per_class = per_class - per_class // 4
    files: Files = []
    lines: list[str] = []
    for n, idx in enumerate(order, start=1):
        cls, i = items[idx]
        name = f"snd_{n:04d}.wav"
        files.append((name, _wav(_sound(cls, rng, seconds, sr), sr)))
        if i < labelled_per_class:
            ann = make_annotation("sound_classification", name=cls, creation_time=_DEMO_TIME)
            lines.append(manifest_line(source=f"{ROOT}/{name}", usage=None, annotations=[ann]))
    files.append((SOUND_MANIFEST, ("\n".join(lines) + "\n").encode()))
    return files


# --------------------------------------------------------------------------- text

_EN = {
    "products": ["phone", "charger", "headset", "laptop", "keyboard", "camera", "speaker", "watch", "tablet", "mouse"],
    "positive": (
        ["The {p} works great", "I love this {p}", "This {p} is excellent", "Really happy with the {p}",
         "The {p} exceeded my expectations", "Best {p} I have owned"],
        ["and delivery was fast.", "and the battery lasts all day.", "and it was worth every penny.",
         "and the build quality is superb.", "and setup took a minute.", "and I would buy it again."],
    ),
    "negative": (
        ["The {p} broke", "I regret buying this {p}", "This {p} is terrible", "Very disappointed with the {p}",
         "The {p} stopped working", "Worst {p} I have owned"],
        ["after two days.", "and support never answered.", "and the refund took weeks.",
         "and it overheats constantly.", "and the screen cracked.", "and it was a waste of money."],
    ),
    "neutral": (
        ["The {p} arrived", "I received the {p}", "This {p} is an average product", "The {p} is okay",
         "Got the {p} as described", "The {p} does what it says"],
        ["on Tuesday.", "in a plain box.", "with a manual.", "in the colour I ordered.",
         "together with a cable.", "and I have not used it much yet."],
    ),
}
_ZH = {
    "products": ["手机", "充电器", "耳机", "笔记本电脑", "键盘", "相机", "音箱", "手表", "平板", "鼠标"],
    "positive": (
        ["这款{p}非常好用", "我很喜欢这个{p}", "{p}质量很棒", "对这个{p}非常满意", "{p}超出预期", "这是我用过最好的{p}"],
        ["，物流很快。", "，电池很耐用。", "，物超所值。", "，做工精致。", "，安装很简单。", "，还会再买。"],
    ),
    "negative": (
        ["这个{p}坏了", "后悔买了这个{p}", "{p}质量太差", "对这个{p}很失望", "{p}用了两天就不能用了", "这是我用过最差的{p}"],
        ["，客服不理人。", "，退款很慢。", "，经常发热。", "，屏幕碎了。", "，浪费钱。", "，不推荐购买。"],
    ),
    "neutral": (
        ["{p}已经收到", "收到了{p}", "{p}一般般", "这个{p}还行", "{p}和描述一致", "{p}功能正常"],
        ["，周二到的。", "，包装普通。", "，附带说明书。", "，颜色没错。", "，带了数据线。", "，还没怎么用。"],
    ),
}


def text_files(
    *,
    lang: str = "en",
    per_class: int = 30,
    classes: tuple[str, ...] = ("positive", "negative"),
    unlabelled: int = 6,
    seed: int = 0,
) -> Files:
    """``reviews.txt`` (one review per line) and ``reviews_result.txt`` (a label per line).

    The first ``per_class * len(classes)`` lines are labelled, row by row; the last
    ``unlabelled`` lines have no label line and stay unlabelled. ``lang`` "en" or "zh";
    classes from positive, negative, neutral.
    """
    bank = {"en": _EN, "zh": _ZH}.get(lang)
    if bank is None:
        raise ValueError(f"unknown lang {lang!r}")
    rng = np.random.default_rng(seed)
    sep = " " if lang == "en" else ""
    seen: set[str] = set()

    def sentence(cls: str) -> str:
        heads, tails = bank[cls]
        for _ in range(50):  # prefer unseen sentences; repeats only once combinations run out
            p = bank["products"][int(rng.integers(len(bank["products"])))]
            head = heads[int(rng.integers(len(heads)))].format(p=p)
            s = head + sep + tails[int(rng.integers(len(tails)))]
            if s not in seen:
                break
        seen.add(s)
        return s

    labelled = [(sentence(c), c) for c in classes for _ in range(per_class)]
    labelled = [labelled[i] for i in rng.permutation(len(labelled))]
    extra = [sentence(classes[int(rng.integers(len(classes)))]) for _ in range(unlabelled)]
    text = "\n".join([s for s, _ in labelled] + extra) + "\n"
    result = "\n".join(c for _, c in labelled) + "\n"
    return [("reviews.txt", text.encode()), ("reviews_result.txt", result.encode())]
