"""One process asking for one image through the app, at the same moment as its peers.

Run: ``python -m tests.support.media_cache_worker SPEC_JSON``; ``SPEC_JSON`` has
``storage``, ``cache_dir``, ``path`` (the URL path to get), ``ready`` (a folder
where each worker leaves a file once its app is built) and ``peers`` (how many
workers there are). Each worker waits until every peer is ready, then gets the
path and prints ``{"status": ..., "sha256": ..., "size": ...}`` as JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from gallery import create_app


def main(spec: dict) -> dict:
    app = create_app({"storage": spec["storage"], "secret_key": "test-secret-key",
                      "cache_dir": spec["cache_dir"]}, environ={})
    client = app.test_client()
    ready = Path(spec["ready"])
    (ready / str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) < spec["peers"] and time.monotonic() < deadline:
        time.sleep(0.005)
    response = client.get(spec["path"])
    body = response.get_data()
    response.close()  # as a server does once the body is sent: the cache entry settles
    return {"status": response.status_code, "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body)}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
