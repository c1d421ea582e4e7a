"""Run one bomb through the upload pipeline in this process; print what it cost as JSON.

``python -m tests.security.decode_child FILE`` reads FILE, calls
:func:`gallery.imaging.process_upload` on it with the default limits (the byte
limit raised to the file's size when needed), and prints
``{"outcome", "status", "message", "seconds", "peak_bytes", "start_peak_bytes"}``:
the peak resident memory of this process over its whole life, and before the upload.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def main(path: str) -> int:
    from gallery.errors import GalleryError
    from gallery.imaging import Limits, process_upload

    with open(path, "rb") as source:
        data = source.read()
    start_peak = _peak()
    limits = Limits(max_bytes=max(len(data), Limits().max_bytes))
    start = time.perf_counter()
    try:
        process_upload(data, limits)
    except GalleryError as err:
        outcome, status, message = "refused", err.status, err.message
    else:
        outcome, status, message = "accepted", 200, ""
    seconds = time.perf_counter() - start
    print(json.dumps({"outcome": outcome, "status": status, "message": message,
                      "seconds": seconds, "peak_bytes": _peak(), "start_peak_bytes": start_peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
