#!/usr/bin/env python3
"""A hospital: serves get_patient_data, which returns its secret patient data encrypted, never in plaintext.

    python3 hospital_executor.py r1-hospital_executor 55
    python3 hospital_executor.py r2-hospital_executor 5

The first argument is the executor type (the workflow sends r1:get_patent_data to r1-hospital_executor and
r2:get_patent_data to r2-hospital_executor), the second the secret number. The process output is the number
encrypted with the workflow's Paillier public key (its "paillier-pubkey" keyword argument).

Like the original example, the executor registers itself with the colony owner's key (COLONIES_COLONY_PRVKEY) and
removes itself again on Ctrl-C or SIGTERM. With --use-prvkey it instead runs as the executor whose key is in
COLONIES_PRVKEY, which the colony owner must have added and approved.
"""

from __future__ import annotations

import argparse
import logging
import uuid

from paillier_codec import encrypted_to_b64, public_key_from_b64

from colonies.executor import Executor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("executortype", help="e.g. r1-hospital_executor")
    parser.add_argument("secret", type=int, help="the patient data (an integer); it never leaves this process")
    parser.add_argument("--use-prvkey", action="store_true",
                        help="run as the pre-registered executor in COLONIES_PRVKEY instead of registering")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every request

    if args.use_prvkey:
        executor = Executor.from_env(executortype=args.executortype, self_register=False)
    else:  # a fresh key and a unique name, whatever COLONIES_PRVKEY / COLONIES_EXECUTOR_NAME say
        executor = Executor.from_env(executortype=args.executortype, self_register=True,
                                     executorname=f"{args.executortype}-{uuid.uuid4().hex[:12]}")

    @executor.function("get_patient_data")
    def get_patient_data(*fargs, process=None, **kwargs):
        public_key = public_key_from_b64(kwargs["paillier-pubkey"])
        encrypted = public_key.encrypt(args.secret)
        print(f"process {process.processid}: patient data encrypted", flush=True)
        return [encrypted_to_b64(encrypted)]

    executor.run()  # until SIGINT/SIGTERM; a self-registered executor then removes itself


if __name__ == "__main__":
    main()
