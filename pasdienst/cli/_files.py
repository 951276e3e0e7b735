"""Reading the files named on the command line, with one-line errors."""
from __future__ import annotations

from pathlib import Path

from ..errors import ValidationFailed


def read_bytes(name: str) -> bytes:
    path = Path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ValidationFailed(f"no file {name}") from None
    except IsADirectoryError:
        raise ValidationFailed(f"{name} is a directory, not a file") from None
    except OSError as exc:
        raise ValidationFailed(f"cannot read {name}: {exc.strerror}") from None


def read_text(name: str) -> str:
    try:
        return read_bytes(name).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{name} is not UTF-8 text") from None
