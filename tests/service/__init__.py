"""Tests of the index and the gallery service (run against real storage backends)."""

from __future__ import annotations

import importlib.util
import sys


def _install_imaging_stand_in() -> None:
    """Until ``gallery.imaging`` exists, register a small Pillow-based stand-in for these tests."""
    spec = importlib.util.find_spec("gallery.imaging")
    if spec is not None and spec.origin is not None:  # the real package (not a bare folder)
        return
    import hashlib
    import io
    import types
    from dataclasses import dataclass

    from PIL import Image, UnidentifiedImageError

    from gallery.errors import DamagedImage, TooLarge, UnsupportedType

    @dataclass(frozen=True)
    class Limits:
        max_bytes: int = 25_000_000
        max_pixels: int = 50_000_000
        max_frames: int = 500

    @dataclass(frozen=True)
    class Variant:
        name: str
        data: bytes
        width: int
        height: int
        content_type: str = "image/webp"

    @dataclass(frozen=True)
    class ProcessedImage:
        format: str
        content_type: str
        extension: str
        data: bytes
        width: int
        height: int
        frames: int
        animated: bool
        upload_sha256: str
        sha256: str
        gps_removed: bool
        placeholder: str
        variants: tuple

    sizes = {"lg": 1600, "sm": 400}
    types_ = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
              "GIF": ("image/gif", "gif"), "WEBP": ("image/webp", "webp")}

    def make_variants(data: bytes, limits: Limits) -> tuple:
        out = []
        for name, edge in sizes.items():
            with Image.open(io.BytesIO(data)) as img:
                img = img.convert("RGB")
                img.thumbnail((edge, edge))
                buf = io.BytesIO()
                img.save(buf, "WEBP")
                out.append(Variant(name, buf.getvalue(), img.width, img.height))
        return tuple(out)

    def process_upload(data: bytes, limits: Limits) -> ProcessedImage:
        if len(data) > limits.max_bytes:
            raise TooLarge()
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format
                img.load()
                width, height = img.size
                frames = getattr(img, "n_frames", 1)
                pixel = img.convert("RGB").resize((1, 1)).getpixel((0, 0))
        except UnidentifiedImageError:
            raise UnsupportedType() from None
        except (OSError, ValueError) as err:
            raise DamagedImage(str(err)) from None
        if fmt not in types_:
            raise UnsupportedType()
        digest = hashlib.sha256(data).hexdigest()
        return ProcessedImage(
            fmt, types_[fmt][0], types_[fmt][1], data, width, height, frames, frames > 1,
            digest, digest, False, "#%02x%02x%02x" % pixel[:3], make_variants(data, limits),
        )

    module = types.ModuleType("gallery.imaging")
    module.__dict__.update(Limits=Limits, Variant=Variant, ProcessedImage=ProcessedImage,
                           VARIANT_SIZES=sizes, process_upload=process_upload,
                           make_variants=make_variants)
    sys.modules["gallery.imaging"] = module


_install_imaging_stand_in()


# --- shared helpers and fixtures (imported by the test modules) --------------

import hashlib  # noqa: E402
import io  # noqa: E402
import random  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from gallery.imaging import Limits  # noqa: E402
from gallery.keys import Keys  # noqa: E402
from gallery.service import Actor, GalleryService  # noqa: E402
from gallery.storage.base import Storage  # noqa: E402
from gallery.storage.memory import MemoryStorage  # noqa: E402

BACKENDS = ("memory", "file")
ALICE = Actor("alice", is_admin=False)
BOB = Actor("bob", is_admin=False)
ADMIN = Actor("root", is_admin=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_image(kind: str = "jpeg", seed: int = 0, size: tuple[int, int] = (24, 16)) -> bytes:
    """A small image of ``kind`` (jpeg, png, png_rgba, gif, gif_animated, webp), distinct per seed."""
    rng = random.Random(f"{kind}-{seed}")
    mode = "RGBA" if kind == "png_rgba" else "RGB"
    channels = len(mode)

    def frame() -> Image.Image:
        pixels = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * channels))
        return Image.frombytes(mode, size, pixels)

    buffer = io.BytesIO()
    if kind == "jpeg":
        frame().save(buffer, "JPEG", quality=90)
    elif kind in ("png", "png_rgba"):
        frame().save(buffer, "PNG")
    elif kind == "gif":
        frame().convert("P").save(buffer, "GIF")
    elif kind == "gif_animated":
        first, *rest = [frame().convert("P") for _ in range(3)]
        first.save(buffer, "GIF", save_all=True, append_images=rest, duration=80, loop=0)
    elif kind == "webp":
        frame().save(buffer, "WEBP", quality=80)
    else:
        raise ValueError(kind)
    return buffer.getvalue()


class StepClock:
    """A clock that moves ``step`` forward on every call, from a fixed start."""

    def __init__(self, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = datetime(2026, 11, 21, 8, 30, 0, 123000, tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def open_backend(name: str, root: Path, factory: Callable[[], Storage] | None = None) -> Storage:
    """A fresh, empty bucket of the named backend."""
    if name == "memory":
        return (factory or MemoryStorage)()
    if name == "file":
        local = pytest.importorskip("gallery.storage.local")
        return local.FileStorage(str(root / "bucket"))
    raise ValueError(name)


def make_service(storage: Storage, *, prefix: str = "", clock: Callable[[], datetime] | None = None
                 ) -> GalleryService:
    return GalleryService(storage, Keys(prefix), limits=Limits(), clock=clock or StepClock())


def image_keys(storage: Storage, keys: Keys) -> list[str]:
    """Every object under ``images/``."""
    return [info.key for info in storage.list(keys.images_prefix)]


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    bucket = open_backend(request.param, tmp_path)
    yield bucket
    bucket.close()


@pytest.fixture
def service(storage: Storage) -> GalleryService:
    return make_service(storage, prefix="g/")
