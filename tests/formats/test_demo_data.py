import io
import wave

import numpy as np
import pytest
from PIL import Image

from datasets import demo_data
from datasets.formats.csv_table import check_label_column, profile_csv_bytes
from datasets.formats.filenames import check_file_name, file_kind, stem
from datasets.formats.images import inspect_image
from datasets.formats.labels_txt import parse_image_labels_txt
from datasets.formats.manifest import ManifestEntry, parse_manifest
from datasets.formats.sound import inspect_wav
from datasets.formats.text import iter_text_lines, match_result_labels, parse_result_labels
from datasets.formats.voc import box_problems, parse_voc


def test_image_classification_files_pass_validation():
    files = dict(demo_data.image_classification_files(per_class=12))
    images = [k for k in files if file_kind(k) == "image"]
    assert len(images) == 36
    counts: dict[str, int] = {}
    for key, data in files.items():
        check_file_name(key)
        if file_kind(key) == "image":
            info = inspect_image(data)
            assert (info.format, info.width, info.height) == ("JPEG", 96, 96)
        else:
            assert f"{stem(key)}.jpg" in files
            (label,) = parse_image_labels_txt(data)
            counts[label] = counts.get(label, 0) + 1
    assert counts == {"circle": 9, "square": 9, "triangle": 9}


def test_generators_are_deterministic():
    assert demo_data.image_classification_files(per_class=2) == demo_data.image_classification_files(per_class=2)
    assert demo_data.sound_files(per_class=2) == demo_data.sound_files(per_class=2)
    assert demo_data.tabular_csv(seed=3) == demo_data.tabular_csv(seed=3)
    assert demo_data.tabular_csv(seed=3) != demo_data.tabular_csv(seed=4)


def test_object_detection_files_have_exact_boxes():
    files = dict(demo_data.object_detection_files(n=20))
    seen = set()
    for key, data in files.items():
        check_file_name(key)
        if file_kind(key) != "xml":
            continue
        img = files[f"{stem(key)}.jpg"]
        info = inspect_image(img)
        ann = parse_voc(data)
        assert 1 <= len(ann.objects) <= 3
        assert box_problems(ann, info.width, info.height) == []
        seen |= {o.name for o in ann.objects}
        # The pixels inside a box differ from the background just outside it.
        arr = np.asarray(Image.open(io.BytesIO(img)).convert("RGB"), float)
        o = ann.objects[0]
        cx, cy = int((o.xmin + o.xmax) / 2), int((o.ymin + o.ymax) / 2)
        assert np.abs(arr[cy, cx] - arr[int(o.ymin), max(int(o.xmin) - 3, 0)]).sum() > 60 or o.xmin < 3
    assert seen == {"circle", "square"}


@pytest.mark.parametrize(("kind", "label_type", "classes"), [("binary", "discrete", 2), ("multiclass", "discrete", 3),
                                                              ("regression", "continuous", None)])
def test_tabular_csv_passes_profile(kind, label_type, classes):
    data = demo_data.tabular_csv(rows=400, kind=kind)
    p = profile_csv_bytes(data)
    assert p.valid_rows == 400 and p.distinct_rows >= 100
    label = p.columns[-1]
    assert check_label_column(p, label.index, label_type) is None
    if classes:
        assert label.distinct == classes
    assert any(c.missing_share > 0 for c in p.columns)
    assert {c.kind for c in p.columns[:-1]} == {"numeric", "categorical"}


def test_sound_files_pass_validation_and_manifest_labels_them():
    files = demo_data.sound_files(per_class=8)
    keys = dict(files)
    wavs = [k for k in keys if file_kind(k) == "wav"]
    assert len(wavs) == 24
    for k in wavs:
        check_file_name(k)
        info = inspect_wav(keys[k])
        assert (info.bit_depth, info.sample_rate, info.channels) == (16, 16000, 1)
        assert info.duration == pytest.approx(1.5)
        with wave.open(io.BytesIO(keys[k])) as w:  # also readable by the stdlib
            assert w.getsampwidth() == 2
    manifest = keys[demo_data.SOUND_MANIFEST].decode().replace("{root}", "s3://bucket/data")
    entries = list(parse_manifest(manifest.splitlines()))
    assert all(isinstance(e, ManifestEntry) for e in entries)
    assert len(entries) == 18
    assert all(e.source.startswith("s3://bucket/data/snd_") and e.source.rsplit("/", 1)[1] in keys for e in entries)
    labels = [e.annotations[0].name for e in entries]
    assert {lb: labels.count(lb) for lb in set(labels)} == {"tone": 6, "noise": 6, "chirp": 6}
    assert all(e.annotations[0].type == "modelarts/audio_classification" for e in entries)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_text_files_pass_validation(lang):
    files = dict(demo_data.text_files(lang=lang, per_class=30, classes=("positive", "negative", "neutral")))
    lines = iter_text_lines(files["reviews.txt"])
    labels = parse_result_labels(files["reviews_result.txt"])
    assert len(lines) == 96 and len(labels) == 90
    rows, surplus = match_result_labels(lines, labels)
    assert surplus == 0 and sum(1 for r in rows if r[2] is None) == 6
    assert {lb: labels.count(lb) for lb in set(labels)} == {"positive": 30, "negative": 30, "neutral": 30}
    if lang == "zh":
        assert any(any("\u4e00" <= ch <= "\u9fff" for ch in text) for _, text in lines)
    assert len({t for _, t in lines}) >= 80  # mostly distinct sentences
