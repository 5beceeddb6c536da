"""Ways a model file gets damaged: bytes flipped inside it, or cut short."""

from pathlib import Path


def flip_bytes_inside(path: Path, marker: bytes, count: int = 64) -> None:
    """Invert ``count`` bytes in the middle of ``path``'s content after ``marker`` (inside a tensor's
    data, not its header), keeping the size: only a checksum notices."""
    raw = bytearray(path.read_bytes())
    start = max(raw.rfind(marker), 0)
    middle = start + (len(raw) - start) // 2 - count // 2
    assert middle > 0 and middle + count < len(raw), f"{path} is too small to tamper with"
    for i in range(middle, middle + count):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def truncate(path: Path) -> None:
    """Cut ``path`` to half its size, as a write killed midway would."""
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
