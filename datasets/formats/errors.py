"""The single exception type of the format validators."""


class FormatError(Exception):
    """A file or value does not meet ExeML's data rules.

    ``reason`` names the problem in words a user can act on, e.g.
    "image is 6.1 MB, larger than the 5 MB limit".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def human_size(n: int) -> str:
    """Bytes as the guide writes limits: "6.1 MB", "900 KB", "12 bytes"."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.1f} MB" if value % 1 else f"{int(value)} MB"
    if n >= 1024:
        value = n / 1024
        return f"{value:.1f} KB" if value % 1 else f"{int(value)} KB"
    return f"{n} bytes"


def check_size(data: bytes, *, max_bytes: int, what: str) -> None:
    """Reject empty files and files over the limit before any parsing work."""
    if not data:
        raise FormatError(f"{what} is empty (0 bytes)")
    if len(data) > max_bytes:
        raise FormatError(
            f"{what} is {human_size(len(data))}, larger than the {human_size(max_bytes)} limit"
        )
