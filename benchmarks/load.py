"""Two HTTP load generators with one result shape: wrk when installed, else Python threads.

wrk (C, event loop) keeps a steadier load and costs the server less CPU than
Python clients, which matters on a 2-core machine shared with the server. The
same generator and settings are used for an endpoint and its baseline.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

WRK_SCRIPT = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local method = %(method)s
local body = %(body)s
local counter = 0
local started = 0

function setup(thread)
  -- Each thread starts at another place in the list, so together they mix ids.
  thread:set("offset", started * 97)
  started = started + 1
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  return wrk.format(method, paths[(counter %% #paths) + 1], headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f\\n",
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class LoadSettings:
    connections: int = 16  # concurrent connections (wrk) or client threads (Python)
    requests: int = 5000  # Python generator: fixed request count
    duration_s: int = 10  # wrk: fixed duration
    wrk_threads: int = 2  # one per core
    method: str = "GET"
    body: str | None = None  # sent with every request (POST benchmarks)


@dataclass(frozen=True)
class LoadResult:
    generator: str
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int  # wrk counts HTTP >= 400 here; the Python generator anything not 2xx
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def choose_generator(preference: str) -> str:
    """'auto' means wrk when it is on PATH (`apt-get install -y wrk`), else Python."""
    if preference == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if preference == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    return preference


def run_load(
    generator: str,
    base_url: str,
    paths: list[str],
    headers: dict[str, str],
    settings: LoadSettings,
    workdir: Path,
) -> LoadResult:
    if generator == "wrk":
        return _run_wrk(base_url, paths, headers, settings, workdir)
    return _run_threads(base_url, paths, headers, settings)


def warm_up(
    base_url: str,
    paths: list[str],
    headers: dict[str, str],
    count: int = 200,
    settings: LoadSettings | None = None,
) -> None:
    """Every gunicorn worker opens its DB connection and fills caches before timing."""
    like = settings or LoadSettings()
    warm = LoadSettings(connections=8, requests=count, method=like.method, body=like.body)
    run_load("python", base_url, paths, headers, warm, Path())


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_wrk(
    base_url: str,
    paths: list[str],
    headers: dict[str, str],
    settings: LoadSettings,
    workdir: Path,
) -> LoadResult:
    script = workdir / "wrk-load.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "paths": ", ".join(_lua_string(path) for path in paths),
            "headers": ", ".join(
                f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()
            ),
            "method": _lua_string(settings.method),
            "body": "nil" if settings.body is None else _lua_string(settings.body),
        }
    )
    argv = [
        "wrk",
        f"-t{settings.wrk_threads}",
        f"-c{settings.connections}",
        f"-d{settings.duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_RESULT"))
    count, duration_us, status_errors, socket_errors, p50_us, p99_us = (
        float(field) for field in line.split()[1:]
    )
    return LoadResult(
        "wrk",
        int(count),
        duration_us / 1e6,
        p50_us / 1e3,
        p99_us / 1e3,
        int(status_errors),
        int(socket_errors),
    )


def _run_threads(
    base_url: str, paths: list[str], headers: dict[str, str], settings: LoadSettings
) -> LoadResult:
    tickets = itertools.count()  # next() on it is atomic under the GIL
    latencies: list[float] = []
    failures = {"non_2xx": 0, "socket": 0}
    lock = threading.Lock()

    def client() -> None:
        mine: list[float] = []
        non_2xx = socket_errors = 0
        with requests.Session() as session:
            session.headers.update(headers)
            while (n := next(tickets)) < settings.requests:
                started = time.perf_counter()
                try:
                    response = session.request(
                        settings.method,
                        base_url + paths[n % len(paths)],
                        data=settings.body,
                        timeout=10,
                    )
                except requests.RequestException:
                    socket_errors += 1
                    continue
                mine.append(time.perf_counter() - started)
                non_2xx += not 200 <= response.status_code < 300
        with lock:
            latencies.extend(mine)
            failures["non_2xx"] += non_2xx
            failures["socket"] += socket_errors

    threads = [threading.Thread(target=client) for _ in range(settings.connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        "python",
        len(latencies),
        elapsed,
        _percentile(latencies, 0.50) * 1e3,
        _percentile(latencies, 0.99) * 1e3,
        failures["non_2xx"],
        failures["socket"],
    )


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
