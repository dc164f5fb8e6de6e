"""ColonyFS through the SDK against a local server: upload and download MB/s of one large file, and the time to sync
1,000 small files (a first sync that uploads them all, and a second that finds nothing to do).

    .venv/bin/python benchmarks/fs.py --runs 3 --store s3      # moto_server on localhost as the S3 API
    .venv/bin/python benchmarks/fs.py --runs 3 --store local   # COLONIES_FS_DIR

Medians over ``--runs``. moto keeps objects in memory in one Python process, so S3 figures measure the client and
moto on this machine, not a real object store.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import create_colony, start_server  # noqa: E402
from s3_server import s3_server  # noqa: E402

from pycolonies import Colonies  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", choices=["s3", "local"], default="s3")
    parser.add_argument("--mb", type=int, default=64, help="size of the large file")
    parser.add_argument("--files", type=int, default=1000, help="small files to sync")
    parser.add_argument("--encrypt", action="store_true", help="client-side encryption (COLONIES_FS_ENCRYPTION_KEY)")
    options = parser.parse_args()
    if options.encrypt:
        os.environ["COLONIES_FS_ENCRYPTION_KEY"] = os.urandom(32).hex()
    results: dict[str, list[float]] = {"upload MB/s": [], "download MB/s": [], "first sync s": [],
                                       "second sync s (nothing to do)": []}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        server = start_server(str(tmp / "server"), backend="sqlite")
        try:
            with s3_server(tmp) as s3:
                if options.store == "s3":
                    os.environ.update(s3.env(bucket="bench"))
                else:
                    os.environ["COLONIES_FS_DIR"] = str(tmp / "store")
                colony = create_colony(server)
                key = colony.user.prvkey
                client = Colonies("127.0.0.1", server.port)
                big = tmp / "big.bin"
                big.write_bytes(os.urandom(options.mb * 1024 * 1024))
                for run in range(options.runs):
                    start = time.perf_counter()
                    file = client.upload_file(colony.name, key, filepath=str(big), label=f"/big{run}")
                    results["upload MB/s"].append(options.mb / (time.perf_counter() - start))
                    start = time.perf_counter()
                    client.download_file(colony.name, key, dst=str(tmp / f"back{run}"), fileid=file["fileid"])
                    results["download MB/s"].append(options.mb / (time.perf_counter() - start))
                    small = tmp / f"small{run}"
                    for i in range(options.files):
                        sub = small / f"d{i % 10}"
                        sub.mkdir(parents=True, exist_ok=True)
                        (sub / f"f{i}.txt").write_bytes(os.urandom(512))
                    start = time.perf_counter()
                    client.sync(str(small), f"/small{run}", True, colony.name, key)
                    results["first sync s"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    again = client.sync(str(small), f"/small{run}", True, colony.name, key)
                    assert again.changes == []
                    results["second sync s (nothing to do)"].append(time.perf_counter() - start)
                client.close_connection()
        finally:
            server.stop()
    print(f"ColonyFS, {options.store} store, {options.mb} MiB file, {options.files} small files; medians of "
          f"{options.runs} runs:")
    for name, values in results.items():
        print(f"  {name:<32} {statistics.median(values):8.2f}   (min {min(values):.2f}, max {max(values):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
