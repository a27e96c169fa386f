"""Pure-Python validators for the data formats ExeML accepts (no Django, no ORM).

Every validator raises :class:`datasets.formats.errors.FormatError` whose ``reason`` is a
sentence a user can act on; sync/upload jobs store that reason on the rejected sample.
"""

from datasets.formats.errors import FormatError

__all__ = ["FormatError"]
