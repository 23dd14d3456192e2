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
from tests.chaos.driver import SEQUENCES, Scenario, reproduction, run_plan, scenario, sequence


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds, from --first on (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument(
        "--seed", type=int, action="append", help="run this seed (repeatable); overrides --seeds"
    )
    parser.add_argument(
        "--sequence",
        action="append",
        choices=sorted(SEQUENCES),
        help="run one of issue 24's sequences (repeatable)",
    )
    parser.add_argument("--sequences", action="store_true", help="run every named sequence, then the seeds")
    parser.add_argument("--companies", type=int, default=3, help="companies per scenario (default 3)")
    parser.add_argument("--events", type=int, default=12, help="random events per scenario (default 12)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each scenario's events")
    parser.add_argument("--logs", action="store_true", help="keep the functions' and moto's log lines")
    args = parser.parse_args(argv)
    if not args.logs:  # the violations are the output; thousands of expected failures' log lines are not
        logging.disable(logging.CRITICAL)
    seeds = (
        []
        if args.sequence and not args.seed
        else args.seed or list(range(args.first, args.first + args.seeds))
    )
    # What to run: the named sequences, then the seeds, each with the line that runs it again.
    jobs: list[tuple[str, Scenario, str]] = [
        (f"sequence {name}", sequence(name), f"python -m tests.chaos --sequence {name} -v")
        for name in (sorted(SEQUENCES) if args.sequences else args.sequence or [])
    ]
    jobs += [
        (
            f"seed {seed}",
            scenario(seed, args.companies, args.events),
            reproduction(seed, args.companies, args.events),
        )
        for seed in seeds
    ]
    log = print if args.verbose else (lambda _: None)
    failed: dict[str, int] = {}
    outcomes: Counter[str] = Counter()
    began = time.monotonic()
    with LocalStack() as stack:
        for label, plan, again in jobs:
            started = time.monotonic()
            violations = run_plan(stack, plan, log, outcomes)
            print(
                f"{label}: {len(violations)} violation(s) in {time.monotonic() - started:.0f} s", flush=True
            )
            for violation in violations:
                print(f"  {violation}", flush=True)
            if violations:
                failed[label] = len(violations)
                print(f"  reproduce: {again}", flush=True)
    print(
        f"{len(jobs)} scenario(s) in {time.monotonic() - began:.0f} s: "
        f"{sum(failed.values())} violation(s) in {len(failed)}" + (f": {', '.join(failed)}" if failed else "")
    )
    print(
        f"exports at the end: {sum(outcomes.values())} ({', '.join(f'{n} {s}' for s, n in outcomes.most_common())})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
