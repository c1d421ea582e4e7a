"""Colour without an ICC profile: HEIF and AVIF ``nclx`` code points as an ICC profile.

A HEIC or AVIF file may describe its colours by ITU-T H.273 code points (colour
primaries and transfer characteristics) instead of an embedded ICC profile:
Display P3 from phones, BT.2020 with PQ or HLG for HDR. The decoders hand over
8-bit RGB values in that encoding; the thumbnail step converts them to sRGB with
LittleCMS, which needs an ICC profile. :func:`profile_for` writes one: a
matrix/TRC display profile (ICC version 2.1) with the primaries as colorants and
the transfer function as a table.

HDR (PQ, HLG) is tone-mapped in the same table: light is taken relative to
the reference white of BT.2408 (203 cd/m2), kept linear up to
:data:`KNEE` of it, and brighter light is rolled off smoothly towards white,
so highlights keep their shape instead of clipping and mid-tones keep their
brightness.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from functools import cache

from gallery.imaging.heif import Colour

D65 = (0.3127, 0.3290)
D50_XYZ = (0.9642, 1.0, 0.8249)

#: H.273 colour primaries -> (red, green, blue, white) chromaticities (x, y).
PRIMARIES: dict[int, tuple[tuple[float, float], ...]] = {
    1: ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), D65),  # BT.709, sRGB
    4: ((0.67, 0.33), (0.21, 0.71), (0.14, 0.08), (0.310, 0.316)),  # BT.470 M
    5: ((0.64, 0.33), (0.29, 0.60), (0.15, 0.06), D65),  # BT.601 625 lines
    6: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),  # BT.601 525 lines
    7: ((0.630, 0.340), (0.310, 0.595), (0.155, 0.070), D65),  # SMPTE 240M
    8: ((0.681, 0.319), (0.243, 0.692), (0.145, 0.049), (0.310, 0.316)),  # generic film
    9: ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65),  # BT.2020, BT.2100
    11: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), (0.314, 0.351)),  # DCI-P3
    12: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), D65),  # Display P3
    22: ((0.630, 0.340), (0.295, 0.605), (0.155, 0.077), D65),  # EBU Tech 3213
}
"""Unlisted values (0 reserved, 2 unspecified, 10 XYZ, ...) are taken as sRGB, as browsers do."""

SRGB_LIKE = frozenset({0, 1, 2, 3, 6, 7, 11, 12, 13, 14, 15})
"""Transfer characteristics shown with the sRGB curve (BT.709 and its relatives,
unspecified and reserved values), as browsers show them."""

REFERENCE_WHITE = 203.0
"""cd/m2 of diffuse white in HDR signals (ITU-R BT.2408): it becomes sRGB white."""
KNEE = 0.75
"""Below this fraction of reference white, HDR light is kept as it is; above it,
it is rolled off so that no light clips."""
CURVE_POINTS = 1024

_PQ = (2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32)
_HLG = (0.17883277, 0.28466892, 0.55991073)


def _srgb(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _pq_nits(v: float) -> float:
    m1, m2, c1, c2, c3 = _PQ
    p = v ** (1 / m2)
    return 10000.0 * (max(p - c1, 0.0) / (c2 - c3 * p)) ** (1 / m1)


def _hlg_nits(v: float) -> float:
    """HLG signal to display light on a 1000 cd/m2 display (system gamma 1.2), per channel."""
    a, b, c = _HLG
    scene = v * v / 3 if v <= 0.5 else (math.exp((v - c) / a) + b) / 12
    return 1000.0 * scene ** 1.2


def roll_off(x: float) -> float:
    """Light relative to reference white (0 to any) -> 0..1: linear up to :data:`KNEE`,
    then a smooth shoulder that reaches 1 only at infinite light."""
    if x <= KNEE:
        return x
    over, room = x - KNEE, 1.0 - KNEE
    return KNEE + room * over / (over + room)


TRANSFERS: dict[int, Callable[[float], float]] = {
    4: lambda v: v ** 2.2,
    5: lambda v: v ** 2.8,
    8: lambda v: v,
    9: lambda v: 10 ** ((v - 1) * 2) if v > 0 else 0.0,
    10: lambda v: 10 ** ((v - 1) * 2.5) if v > 0 else 0.0,
    16: lambda v: roll_off(_pq_nits(v) / REFERENCE_WHITE),
    17: lambda v: min(1.0, 52.37 / 48 * v ** 2.6),
    18: lambda v: roll_off(_hlg_nits(v) / REFERENCE_WHITE),
}
"""H.273 transfer characteristics -> signal (0..1) to display light (0..1, sRGB white 1)."""

HDR_TRANSFERS = frozenset({16, 18})


def is_hdr(colour: Colour | None) -> bool:
    """Whether the code points describe an HDR signal (PQ or HLG)."""
    return colour is not None and colour.icc is None and colour.transfer in HDR_TRANSFERS


def _xyz(x: float, y: float) -> tuple[float, float, float]:
    return x / y, 1.0, (1 - x - y) / y


def _mul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def _inverse(m: list[list[float]]) -> list[list[float]]:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return [[(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
            [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
            [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det]]


_BRADFORD = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]


def colorants(primaries: tuple[tuple[float, float], ...]) -> list[list[float]]:
    """The RGB -> XYZ (D50, Bradford-adapted) matrix of a set of primaries and white."""
    red, green, blue, white = primaries
    columns = [_xyz(*red), _xyz(*green), _xyz(*blue)]
    m = [[columns[j][i] for j in range(3)] for i in range(3)]
    w = _xyz(*white)
    inv = _inverse(m)
    s = [sum(inv[i][k] * w[k] for k in range(3)) for i in range(3)]
    rgb_to_xyz = [[m[i][j] * s[j] for j in range(3)] for i in range(3)]
    src = [sum(_BRADFORD[i][k] * w[k] for k in range(3)) for i in range(3)]
    dst = [sum(_BRADFORD[i][k] * D50_XYZ[k] for k in range(3)) for i in range(3)]
    scale = [[dst[i] / src[i] if i == j else 0.0 for j in range(3)] for i in range(3)]
    adapt = _mul(_inverse(_BRADFORD), _mul(scale, _BRADFORD))
    return _mul(adapt, rgb_to_xyz)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _tag_xyz(xyz: tuple[float, float, float] | list[float]) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + b"".join(_s15(v) for v in xyz)


def _tag_curve(transfer: Callable[[float], float]) -> bytes:
    values = [min(65535, max(0, round(transfer(i / (CURVE_POINTS - 1)) * 65535)))
              for i in range(CURVE_POINTS)]
    return b"curv\x00\x00\x00\x00" + struct.pack(f">I{CURVE_POINTS}H", CURVE_POINTS, *values)


def _tag_desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    return (b"desc\x00\x00\x00\x00" + struct.pack(">I", len(ascii_text)) + ascii_text
            + bytes(4 + 4 + 2 + 1 + 67))


def _pad(block: bytes) -> bytes:
    return block + bytes(-len(block) % 4)


def _icc(description: str, matrix: list[list[float]], transfer: Callable[[float], float]) -> bytes:
    curve = _pad(_tag_curve(transfer))
    blocks: list[tuple[list[bytes], bytes]] = [
        ([b"desc"], _pad(_tag_desc(description))),
        ([b"cprt"], _pad(b"text\x00\x00\x00\x00No copyright, use freely\x00")),
        ([b"wtpt"], _tag_xyz(D50_XYZ)),
        ([b"rXYZ"], _tag_xyz([matrix[i][0] for i in range(3)])),
        ([b"gXYZ"], _tag_xyz([matrix[i][1] for i in range(3)])),
        ([b"bXYZ"], _tag_xyz([matrix[i][2] for i in range(3)])),
        ([b"rTRC", b"gTRC", b"bTRC"], curve),
    ]
    count = sum(len(names) for names, _ in blocks)
    offset = 128 + 4 + 12 * count
    table, data = [], b""
    for names, block in blocks:
        for name in names:
            table.append(name + struct.pack(">II", offset + len(data), len(block)))
        data += block
    body = struct.pack(">I", count) + b"".join(table) + data
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"\x00\x00\x00\x00" + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp"
              + bytes(4 + 4 + 4 + 4 + 8 + 4) + b"".join(_s15(v) for v in D50_XYZ) + bytes(48))
    assert len(header) == 128
    return header + body


@cache
def _profile(primaries: int, transfer: int) -> bytes | None:
    chosen = PRIMARIES.get(primaries, PRIMARIES[1])
    curve = TRANSFERS.get(transfer, _srgb)
    if chosen is PRIMARIES[1] and curve is _srgb:
        return None
    name = f"H.273 primaries {primaries}, transfer {transfer}"
    return _icc(name, colorants(chosen), curve)


def profile_for(colour: Colour | None) -> bytes | None:
    """The ICC profile to convert a picture's colours to sRGB with.

    Its own ICC profile when it has one; else one written for its ``nclx`` code
    points; ``None`` when the colours are sRGB already (or described by nothing).
    """
    if colour is None:
        return None
    if colour.icc is not None:
        return colour.icc or None
    transfer = colour.transfer if colour.transfer not in SRGB_LIKE else 13
    return _profile(colour.primaries, transfer)
