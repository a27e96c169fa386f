"""Per-type import rules: which files are data or labels, how they are validated and applied."""

from datasets.importing.base import Importer, Role, importer_for

__all__ = ["Importer", "Role", "importer_for"]
