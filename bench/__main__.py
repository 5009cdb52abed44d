"""`python -m bench [NAME ...]`: run every bench/*.py module's `main()` (or only those named).

Each benchmark prints its own figures against a raw baseline measured in the same run. A failing
benchmark is reported and the rest still run; the exit code says whether all of them finished.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(p.stem for p in here.glob("*.py") if not p.stem.startswith("_"))


def main() -> int:
    wanted = sys.argv[1:] or discover()
    unknown = sorted(set(wanted) - set(discover()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(discover())}")
        return 2
    failed: list[str] = []
    for name in wanted:
        print(f"== bench.{name} ==", flush=True)
        start = time.perf_counter()
        sys.argv = [f"bench.{name}"]  # each main() reads its own defaults, not our arguments
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception:  # noqa: BLE001 - one broken benchmark must not stop the others
            traceback.print_exc()
            failed.append(name)
        print(f"-- bench.{name}: {time.perf_counter() - start:.1f} s\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
