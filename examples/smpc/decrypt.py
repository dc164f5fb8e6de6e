#!/usr/bin/env python3
"""Last step: read the cloud's encrypted sum from the server and decrypt it with the local private key.

    python3 decrypt.py <processid>      # the process of the workflow node cloud:sum_patent_data

The process is read with the key in COLONIES_PRVKEY (and COLONIES_SERVER_HOST/PORT, COLONIES_COLONY_NAME).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paillier_codec import encrypted_from_b64, private_key_from_json, public_key_from_b64

from pycolonies import colonies_client

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("processid", help="id of the cloud:sum_patent_data process")
    parser.add_argument("--private-key", default=str(HERE / "private_key.json"))
    args = parser.parse_args()

    private_key = private_key_from_json(Path(args.private_key).read_text())
    colonies, _colonyname, _colony_prvkey, _executorname, prvkey = colonies_client()
    process = colonies.get_process(args.processid, prvkey)
    if not process["out"]:
        print(f"process {args.processid} has no output (state {process['state']})", file=sys.stderr)
        return 1
    workflow_key = public_key_from_b64(process["spec"]["kwargs"]["paillier-pubkey"])
    if workflow_key != private_key.public_key:
        print(f"process {args.processid} was encrypted with another key than {args.private_key}", file=sys.stderr)
        return 1
    total = private_key.decrypt(encrypted_from_b64(private_key.public_key, process["out"][0]))
    print(f"The sum of all patient data is: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
