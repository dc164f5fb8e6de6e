#!/usr/bin/env python3
"""Step 1: make a Paillier key pair and put the public key into the workflow.

    python3 generate_keys.py            # writes private_key.json and workflow/workflow.json

The private key goes to private_key.json (readable only by you, listed in .gitignore): keep it on this machine.
The public key is written into every node of workflow/workflow.json (made from workflow/workflow.template.json) as
the keyword argument "paillier-pubkey", which is how the hospitals and the cloud receive it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from paillier_codec import private_key_to_json, public_key_to_b64
from phe import paillier

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bits", type=int, default=2048, help="length of the modulus n (default 2048)")
    parser.add_argument("--private-key", default=str(HERE / "private_key.json"), help="where the private key goes")
    parser.add_argument("--template", default=str(HERE / "workflow" / "workflow.template.json"))
    parser.add_argument("--workflow", default=str(HERE / "workflow" / "workflow.json"), help="the workflow to write")
    args = parser.parse_args()

    public_key, private_key = paillier.generate_paillier_keypair(n_length=args.bits)

    # Created with mode 0600 from the start, so the key is never readable by others, not even for a moment.
    fd = os.open(args.private_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(private_key_to_json(private_key) + "\n")
    os.chmod(args.private_key, 0o600)  # if the file existed before with wider permissions

    pubkey_b64 = public_key_to_b64(public_key)
    nodes = json.loads(Path(args.template).read_text())
    for node in nodes:
        node.setdefault("kwargs", {})["paillier-pubkey"] = pubkey_b64
    Path(args.workflow).parent.mkdir(parents=True, exist_ok=True)
    Path(args.workflow).write_text(json.dumps(nodes, indent=4) + "\n")

    print(f"Paillier key pair generated ({args.bits} bits)")
    print(f"  private key: {args.private_key} (keep it here)")
    print(f"  public key:  in every node of {args.workflow}")


if __name__ == "__main__":
    main()
