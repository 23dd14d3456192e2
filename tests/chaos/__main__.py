"""`python -m tests.chaos --seeds 500 --companies 3`: run seeded scenarios on an in-process local stack.

Prints every violation with its seed and the one line that runs that seed again; exits 1 when any was found.
With `--jobs N`, N processes (each with a local stack of its own) share the seeds: a scenario mostly waits for
its runs, so a long run takes about 1/N of the time on two cores.
"""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
import threading
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
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes sharing the seeds, each with its own local stack"
    )
    args = parser.parse_args(argv)
    if args.jobs > 1 and not args.seed:
        return _in_processes(args)
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


def _in_processes(args: argparse.Namespace) -> int:
    """The sequences (if asked) and the seeds shared out over `--jobs` processes; their lines as they come,
    then one summary."""
    seeds = list(range(args.first, args.first + args.seeds))
    common = ["--companies", str(args.companies), "--events", str(args.events)]
    common += ["-v"] * args.verbose + ["--logs"] * args.logs
    commands = []
    for job in range(args.jobs):
        mine = seeds[job :: args.jobs]
        command = [sys.executable, "-m", "tests.chaos", *common]
        if job == 0 and (args.sequences or args.sequence):
            names = sorted(SEQUENCES) if args.sequences else args.sequence
            command += [part for name in names for part in ("--sequence", name)]
        command += [part for seed in mine for part in ("--seed", str(seed))]
        if mine or len(command) > 3 + len(common):
            commands.append(command)
    began = time.monotonic()
    lock = threading.Lock()
    scenarios, failed, exports = 0, [], Counter[str]()
    done = re.compile(r"^(sequence \S+|seed \d+): (\d+) violation")
    ends = re.compile(r"^exports at the end: \d+ \((.*)\)")

    def follow(command: list[str]) -> None:
        nonlocal scenarios
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None
            for line in process.stdout:
                with lock:
                    if (match := done.match(line)) is not None:
                        scenarios += 1
                        if int(match.group(2)):
                            failed.append(match.group(1))
                    if (match := ends.match(line)) is not None:
                        for part in filter(None, match.group(1).split(", ")):
                            count, status = part.split(" ", 1)
                            exports[status] += int(count)
                        continue
                    if " scenario(s) in " not in line:  # each process's own summary: summed below
                        print(line, end="", flush=True)

    threads = [threading.Thread(target=follow, args=(command,)) for command in commands]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        f"{scenarios} scenario(s) in {time.monotonic() - began:.0f} s over {len(commands)} processes: "
        f"{len(failed)} with violations" + (f": {', '.join(failed)}" if failed else "")
    )
    print(
        f"exports at the end: {sum(exports.values())} ({', '.join(f'{n} {s}' for s, n in exports.most_common())})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
