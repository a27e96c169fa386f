"""Tiny generated vision data: coloured shapes on noise, written as JPEG/PNG files."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from training.engine.spec import Box, TrainSample

SHAPES = ("circle", "square", "triangle")
COLORS = {"circle": (220, 40, 40), "square": (40, 80, 220), "triangle": (40, 190, 60)}


def _canvas(rng: random.Random, width: int, height: int, texture: str = "noise") -> Image.Image:
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    if texture == "noise":
        arr = nrng.integers(90, 170, size=(height, width, 3), dtype=np.uint8)
    else:
        arr = np.full((height, width, 3), 128, dtype=np.uint8)
    return Image.fromarray(arr)


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = box
    color = COLORS[shape]
    if shape == "circle":
        draw.ellipse(box, fill=color)
    elif shape == "square":
        draw.rectangle(box, fill=color)
    else:
        draw.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=color)


def classification_samples(
    folder: Path,
    *,
    labels: tuple[str, ...] = ("circle", "square"),
    per_label_train: int = 10,
    per_label_eval: int = 4,
    size: int = 96,
    seed: int = 0,
    multilabel: bool = False,
) -> list[TrainSample]:
    """One shape per image (or, when ``multilabel``, one or two shapes with both labels)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[TrainSample] = []
    n = 0
    for usage, count in (("train", per_label_train), ("eval", per_label_eval)):
        for label in labels:
            for _ in range(count):
                img = _canvas(rng, size, size)
                draw = ImageDraw.Draw(img)
                present = [label]
                if multilabel and rng.random() < 0.5:
                    present.append(rng.choice([x for x in labels if x != label]))
                for i, shape in enumerate(present):
                    s = rng.uniform(0.3, 0.45) * size
                    x0 = (
                        rng.uniform(0, size / 2 - s) + (size / 2 if i else 0)
                        if len(present) > 1
                        else rng.uniform(0, size - s)
                    )
                    y0 = rng.uniform(0, size - s)
                    draw_shape(draw, shape, (x0, y0, x0 + s, y0 + s))
                path = folder / f"img{n:04d}.jpg"
                img.save(path, quality=92)
                samples.append(
                    TrainSample(
                        id=f"s{n}",
                        usage=usage,
                        path=str(path),
                        labels=tuple(sorted(set(present))),
                        width=size,
                        height=size,
                    )
                )
                n += 1
    return samples


def detection_samples(
    folder: Path,
    *,
    labels: tuple[str, ...] = ("circle", "square"),
    n_train: int = 12,
    n_eval: int = 4,
    size: tuple[int, int] = (128, 96),
    seed: int = 0,
) -> list[TrainSample]:
    """Images with 1-2 shapes each and their pixel boxes (non-square, to exercise letterboxing)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    samples: list[TrainSample] = []
    for n in range(n_train + n_eval):
        img = _canvas(rng, width, height)
        draw = ImageDraw.Draw(img)
        boxes: list[Box] = []
        count = 1 + (n % 2)
        for i in range(count):
            shape = labels[(n + i) % len(labels)]
            s = rng.uniform(0.28, 0.4) * height
            # Left and right halves so two shapes never overlap.
            half = width / count
            x0 = rng.uniform(i * half, (i + 1) * half - s)
            y0 = rng.uniform(0, height - s)
            x0, y0 = round(x0), round(y0)
            x1, y1 = round(x0 + s), round(y0 + s)
            draw_shape(draw, shape, (x0, y0, x1, y1))
            boxes.append(Box(label=shape, xmin=x0, ymin=y0, xmax=x1, ymax=y1))
        path = folder / f"det{n:04d}.png"
        img.save(path)
        samples.append(
            TrainSample(
                id=f"d{n}",
                usage="train" if n < n_train else "eval",
                path=str(path),
                labels=tuple(sorted({b.label for b in boxes})),
                boxes=tuple(boxes),
                width=width,
                height=height,
            )
        )
    return samples


class NetworkBlock:
    """Refuses (and records) every non-loopback connection and DNS lookup while active."""

    LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", None}

    def __init__(self, monkeypatch) -> None:
        import socket

        self.attempts: list[str] = []
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_create = socket.create_connection
        real_getaddrinfo = socket.getaddrinfo

        def _host(address) -> str | None:
            if isinstance(address, tuple) and address:
                return str(address[0])
            return None  # unix sockets

        def refuse(where: str, host) -> None:
            self.attempts.append(f"{where}:{host}")
            raise OSError(f"network disabled in tests ({where} {host})")

        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in self.LOOPBACK:
                refuse("connect", _host(address))
            return real_connect(sock, address)

        def connect_ex(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in self.LOOPBACK:
                refuse("connect_ex", _host(address))
            return real_connect_ex(sock, address)

        def create_connection(address, *args, **kwargs):
            if _host(address) not in self.LOOPBACK:
                refuse("create_connection", _host(address))
            return real_create(address, *args, **kwargs)

        def getaddrinfo(host, *args, **kwargs):
            if host not in self.LOOPBACK:
                refuse("getaddrinfo", host)
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "create_connection", create_connection)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
