"""`make stop`: stop a `make run` still going (or what a killed one left behind)."""

from __future__ import annotations

import os
import signal
import sys
import time

from scripts.embedded import EmbeddedPostgres, EmbeddedRedis
from scripts.localservices import var_dir
from scripts.run import state_file
from scripts.supervisor import running_supervisor, stop_leftovers


def main() -> int:
    var = var_dir()
    pid = running_supervisor(state_file(var))
    if pid:
        print(f"stopping `make run` (pid {pid}) ...", flush=True)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while running_supervisor(state_file(var)) and time.monotonic() < deadline:
            time.sleep(0.2)
        if running_supervisor(state_file(var)):
            print(f"pid {pid} did not stop within 60 s; killing it", flush=True)
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
    stopped = stop_leftovers(state_file(var))
    # Embedded servers whose pid files outlived every record (e.g. a state file deleted by hand).
    stopped += EmbeddedPostgres(var / "postgres", 0).stop_leftover()
    stopped += EmbeddedRedis(var / "redis", 0).stop_leftover()
    if pid or stopped:
        for line in stopped:
            print(f"stopped {line}")
        print("stopped.")
    else:
        print("nothing of `make run` is running.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
