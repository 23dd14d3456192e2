"""`python -m tests.chaos --seeds 500 --companies 3`: run seeded scenarios on an in-process local stack.

Prints every violation with its seed and the one line that runs that seed again; exits 1 when any was found.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter

from local.stack import LocalStack
from tests.chaos.driver import reproduction, run_seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds, from --first on (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument(
        "--seed", type=int, action="append", help="run this seed (repeatable); overrides --seeds"
    )
    parser.add_argument("--companies", type=int, default=3, help="companies per scenario (default 3)")
    parser.add_argument("--events", type=int, default=12, help="random events per scenario (default 12)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each scenario's events")
    parser.add_argument("--logs", action="store_true", help="keep the functions' and moto's log lines")
    args = parser.parse_args(argv)
    if not args.logs:  # the violations are the output; thousands of expected failures' log lines are not
        logging.disable(logging.CRITICAL)
    seeds = args.seed or list(range(args.first, args.first + args.seeds))
    log = print if args.verbose else (lambda _: None)
    failed: dict[int, int] = {}
    outcomes: Counter[str] = Counter()
    began = time.monotonic()
    with LocalStack() as stack:
        for seed in seeds:
            started = time.monotonic()
            violations = run_seed(stack, seed, args.companies, log, args.events, outcomes)
            took = time.monotonic() - started
            print(f"seed {seed}: {len(violations)} violation(s) in {took:.0f} s", flush=True)
            for violation in violations:
                print(f"  {violation}", flush=True)
            if violations:
                failed[seed] = len(violations)
                print(f"  reproduce: {reproduction(seed, args.companies, args.events)}", flush=True)
    total = sum(failed.values())
    print(
        f"{len(seeds)} seeds × {args.companies} companies in {time.monotonic() - began:.0f} s: "
        f"{total} violation(s) in {len(failed)} seed(s)" + (f": {sorted(failed)}" if failed else "")
    )
    print(
        f"exports at the end: {sum(outcomes.values())} ({', '.join(f'{n} {s}' for s, n in outcomes.most_common())})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
