"""For maintainers: does each lab's checks catch every catalogued mistake for every secret seed?

    python tests/sweep_mistakes.py [LAB ...] [--seeds 100]

The suite tries each mistake of ``mistakes.MISTAKES`` with the three seeds of ``hidden_checks.SEEDS``. A check
that lets a mistake through for one secret seed in a hundred passes there, yet under the judge, which draws a
new seed for every submission, it lets that mistake through now and then: the student keeps the hidden part's
points, or loses them with another question's message. Run this after changing a check: on 2 cores, every lab
but Lab 5 takes 8 minutes at 100 seeds; Lab 5 takes about 10 s a seed (``lab5_cifar10_mlp --seeds 20``).
Lab 5 and Lab 6 get fake CIFAR-10 and MNIST files, as in the suite. Prints each mistake that some
seed lets through or that costs another question too, with those seeds; exits 1 if there is any.
"""
import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from autograder.hidden import common  # noqa: E402
from course_data import stage_course_data  # noqa: E402
from hidden_checks import SEEDS  # noqa: E402
from mistakes import MISTAKES  # noqa: E402
from notebook_namespace import failed_tests, source_cells  # noqa: E402


def sweep(lab: str, seeds: list[int]) -> list[str]:
    """One line per mistake of ``lab`` that some seed lets through, or that costs another question too."""
    cells = source_cells(lab)
    problems = []
    for mistake in (m for m in MISTAKES if m.lab == lab):
        solution = next(source for grade_id, _, source in cells if grade_id == mistake.solution_id)
        wrong = {}
        for seed in seeds:
            with common.secret_seed(seed):
                failures = set(failed_tests(lab, {mistake.solution_id: mistake.apply(solution)}, cells))
            if failures != {mistake.question}:
                wrong[seed] = sorted(failures)
        if wrong:
            shown = ", ".join(f"{seed} (failed: {', '.join(failed) or 'nothing'})"
                              for seed, failed in list(wrong.items())[:3])
            problems.append(f"{mistake.name}: {len(wrong)} of {len(seeds)} seeds, e.g. {shown}")
    return problems


def main() -> int:
    labs = sorted({m.lab for m in MISTAKES})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", metavar="LAB", help=f"default: all of {', '.join(labs)}")
    parser.add_argument("--seeds", type=int, default=100, help="secret seeds per mistake (the suite's 3 among them)")
    args = parser.parse_args()
    unknown = sorted(set(args.labs) - set(labs))
    if unknown or args.seeds < 1:
        parser.error(f"no mistakes are catalogued for {', '.join(unknown)}" if unknown
                     else "--seeds must be at least 1")
    rng = random.Random(0)
    seeds = (SEEDS + [rng.getrandbits(63) for _ in range(args.seeds)])[:args.seeds]
    data = None
    if not os.environ.get("COURSE_DATA_DIR"):  # Labs 5 and 6 load their data as they do in the suite
        data = stage_course_data(Path(tempfile.mkdtemp(prefix="sweep-data-")))
        os.environ["COURSE_DATA_DIR"] = str(data)
    found = []
    try:
        for lab in args.labs or labs:
            problems = sweep(lab, seeds)
            print(f"{lab}: {sum(m.lab == lab for m in MISTAKES)} mistakes x {len(seeds)} seeds: "
                  + ("every one caught, at its own question only" if not problems else f"{len(problems)} not always"),
                  flush=True)
            for problem in problems:
                print(f"  {problem}")
            found += problems
    finally:
        if data:
            shutil.rmtree(data, ignore_errors=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
