"""Classification exports. Image and sound: one folder per class under the split,
``train/<label>/x.jpg`` (a multi-label image appears in each of its classes' folders).
Text: ``train/texts.txt`` with one text per line and ``train/texts_result.txt`` with its
label on the same row — the guide's pre-labelled import format."""

from __future__ import annotations

from datasets.export.base import ExportFile, split_folder, unique_file_names


def folder_files(items) -> list[ExportFile]:
    files = []
    for item, fname in zip(items, unique_file_names(i.name for i in items), strict=True):
        split = split_folder(item.usage)
        for label in item.labels:
            files.append(ExportFile(f"{split}/{label}/{fname}", source=item.source))
    return files


def text_files(items) -> list[ExportFile]:
    rows: dict[str, list[tuple[str, str]]] = {"train": [], "val": []}
    for item in items:
        # A text is one line; newlines inside would shift every following row's label.
        text = " ".join(item.text.splitlines())
        rows[split_folder(item.usage)].append((text, item.labels[0] if item.labels else ""))
    files = []
    for split, pairs in rows.items():
        if not pairs:
            continue
        files.append(ExportFile(f"{split}/texts.txt", "".join(f"{t}\n" for t, _ in pairs).encode()))
        files.append(ExportFile(f"{split}/texts_result.txt", "".join(f"{lb}\n" for _, lb in pairs).encode()))
    return files
