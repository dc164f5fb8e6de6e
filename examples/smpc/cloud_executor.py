#!/usr/bin/env python3
"""The cloud provider: serves sum_patient_data, which adds the hospitals' encrypted numbers without decrypting them.

    python3 cloud_executor.py

It runs as executor type cloud-hospital-executor. Its input, the process's "in", is the outputs of its parents in
the workflow (one ciphertext per hospital). Paillier encryption is additively homomorphic: multiplying ciphertexts
modulo n^2 adds the plaintexts, and that needs only the public key, so the cloud never holds the private key and
never sees a plaintext. The output is the encrypted sum; only the holder of private_key.json can read it.

Registration as in hospital_executor.py: self-registration with COLONIES_COLONY_PRVKEY, or --use-prvkey.
"""

from __future__ import annotations

import argparse
import logging
import uuid

from paillier_codec import encrypted_from_b64, encrypted_to_b64, public_key_from_b64

from colonies.executor import Executor

EXECUTORTYPE = "cloud-hospital-executor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--use-prvkey", action="store_true",
                        help="run as the pre-registered executor in COLONIES_PRVKEY instead of registering")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every request

    if args.use_prvkey:
        executor = Executor.from_env(executortype=EXECUTORTYPE, self_register=False)
    else:
        executor = Executor.from_env(executortype=EXECUTORTYPE, self_register=True,
                                     executorname=f"{EXECUTORTYPE}-{uuid.uuid4().hex[:12]}")

    @executor.function("sum_patient_data")
    def sum_patient_data(*fargs, process=None, **kwargs):
        public_key = public_key_from_b64(kwargs["paillier-pubkey"])
        inputs = process["in"] or []
        if not inputs:
            raise ValueError("no encrypted inputs: sum_patient_data must run after the hospitals in a workflow")
        encrypted = [encrypted_from_b64(public_key, item) for item in inputs]
        total = encrypted[0]
        for number in encrypted[1:]:
            total = total + number  # homomorphic addition: only the public key is involved
        print(f"process {process.processid}: added {len(encrypted)} encrypted numbers", flush=True)
        return [encrypted_to_b64(total)]

    executor.run()


if __name__ == "__main__":
    main()
