"""``make drills``: every drill in turn; exits non-zero when one failed.

``python -m bench.drills NAME ...`` runs only the named ones (``mixed_load``, ``outbox_crash``,
``pgbouncer``, ``postgres_restart``, ``redis_stop``, ``silent_dependencies``, ``worker_kill``).
"""

import importlib
import sys
import traceback

DRILLS = (
    "worker_kill",
    "redis_stop",
    "outbox_crash",
    "postgres_restart",
    "silent_dependencies",
    "mixed_load",
    "pgbouncer",
)


def main() -> None:
    chosen = sys.argv[1:] or list(DRILLS)
    unknown = sorted(set(chosen) - set(DRILLS))
    if unknown:
        raise SystemExit(f"unknown drill(s): {', '.join(unknown)}; known: {', '.join(DRILLS)}")
    failed = []
    for name in chosen:
        print(f"\n== {name}")
        try:
            importlib.import_module(f"bench.drills.{name}").main()
        except SystemExit as exit_:
            if exit_.code not in (None, 0):
                print(exit_.code)
                failed.append(name)
        except Exception:  # one drill crashing must not hide the others' results
            traceback.print_exc()
            failed.append(name)
    if failed:
        raise SystemExit(f"\nfailed: {', '.join(failed)}")
    print(f"\nall {len(chosen)} drills passed")


if __name__ == "__main__":
    main()
