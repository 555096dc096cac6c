"""The scoring server with and without the inference log and drift monitoring, alternately, under the same load
(docs/performance.md, "Serving with monitoring on").

usage (from the project root):
    python3 tests/MlOps.Client.Benchmarks/ScoringLoad/monitoring.py MODEL_DIR [DURATION_S] [ROUNDS]

MODEL_DIR: a model with reference_profile.json whose input columns are iris' "sepal length (cm)", … — the one
samples/MonitorDrift logs (mlruns/<experiment>/<run>/artifacts/model). Each round starts `mlops models serve -m MODEL_DIR`
on 127.0.0.1:5598 four times — off; with `--log-dir <temp>` (every request logged); with `--log-dir <temp>
--monitor-drift` (also windows of 1,000 rows tested); off again beside a SCHED_IDLE process that busies a core 0.5 ms
every 5 ms (`chrt`, util-linux) — and loads each with `wrk` (Debian package `wrk`: C, one thread,
so the load takes a fraction of a core and leaves the server the CPU it needs; post.lua sends the body), 2 s of warm-up
then DURATION s per body and connection count; the table gives each cell's median over the rounds and the ratios to off.
The bodies: 1 row of the iris test split and the first 100 rows of iris.csv (as load.py sends them)."""
import os, re, shutil, statistics, subprocess, sys, tempfile, time, urllib.request
from serving import wait

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = sys.argv[1]
DURATION = sys.argv[2] if len(sys.argv) > 2 else "10"
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PORT = "5598"
os.environ.setdefault("LOAD_COLUMNS", "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)")


import csv, json
DATA = "samples/XGBoostIris/data"
iris = list(csv.DictReader(open(f"{DATA}/iris.csv")))
split = sorted([r for r in csv.DictReader(open(f"{DATA}/iris-split-rs25.csv")) if r["set"] == "test"], key=lambda r: int(r["order"]))
COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SENT = os.environ["LOAD_COLUMNS"].split(",")
BODY_DIR = tempfile.mkdtemp(prefix="mlops-bench-bodies-")
BODIES = {}
for name, data in {"1-row dataframe_split": [[float(iris[int(split[0]["row"])][c]) for c in COLS]],
                   "100-row dataframe_split": [[float(r[c]) for c in COLS] for r in iris[:100]]}.items():
    BODIES[name] = os.path.join(BODY_DIR, name.split("-")[0] + ".json")
    with open(BODIES[name], "w") as f:
        json.dump({"dataframe_split": {"columns": SENT, "data": data}}, f)
CONNS = [int(k) for k in os.environ.get("LOAD_CONNS", "1,16").split(",")]
# LOAD_RATE_SHARE (default 0.5): also offer the largest connection count a fixed rate, this share of what "off" served
# saturated (the first "off" run sets it for every mode): how much a request is slowed when the CPU is not all taken.
RATE_SHARE = float(os.environ.get("LOAD_RATE_SHARE", "0.5"))
RATES = {}


def wrk(body, conns, seconds, rate=0):
    out = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "-s", os.path.join(HERE, "post.lua"), f"http://127.0.0.1:{PORT}/invocations"],
                         capture_output=True, text=True, check=True, env={**os.environ, "WRK_BODY": body, "WRK_RATE": str(rate), "WRK_CONNS": str(conns)}).stdout
    m = re.search(r"RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+)", out)
    if not m:
        raise SystemExit("wrk printed no figures:\n" + out)
    requests, duration, _, p99, errors = (int(g) for g in m.groups())
    return requests / (duration / 1e6), p99 / 1000, errors


def measure(extra):
    server = subprocess.Popen(["dotnet", cli, "models", "serve", "-m", MODEL, "-p", PORT, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cells = {}
    try:
        wait(PORT)
        for name, body in BODIES.items():
            for conns in CONNS:
                wrk(body, conns, 2)  # warm-up (JIT tiers, connections)
                cells[(name, conns)] = wrk(body, conns, DURATION)
                if RATE_SHARE > 0 and conns == max(CONNS):
                    # The same connections at a fixed rate: RATE_SHARE of what "off" served at saturation in round 1.
                    rate = RATES.setdefault(name, int(cells[(name, conns)][0] * RATE_SHARE))
                    cells[(name, f"{conns} @ {rate}/s")] = wrk(body, conns, DURATION, rate)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return cells


subprocess.run(["dotnet", "build", "src/MlOps.Cli", "-c", "Release", "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
cli = os.path.join("src", "MlOps.Cli", "bin", "Release", "net10.0", "MlOps.Cli.dll")
MODES = {"off": [], "log": ["--log-dir", "LOG"], "log+drift": ["--log-dir", "LOG", "--monitor-drift"], "off+burner": []}
# "off+burner": the server without monitoring while another process at the lowest CPU priority (SCHED_IDLE) busies a
# core 0.5 ms every 5 ms — about the CPU the log's writer takes — the anchor that says what any work beside the requests
# costs their p99 on this machine, whoever does it.
BURNER = "import time\nwhile True:\n    t = time.perf_counter()\n    while time.perf_counter() - t < 0.0005: pass\n    time.sleep(0.0045)"
results = {m: [] for m in MODES}
for r in range(ROUNDS):
    for mode, extra in MODES.items():
        log = tempfile.mkdtemp(prefix="mlops-bench-log-")
        try:
            burner = subprocess.Popen(["chrt", "-i", "0", sys.executable, "-c", BURNER]) if mode == "off+burner" else None
            try:
                results[mode].append(measure([log if a == "LOG" else a for a in extra]))
            finally:
                if burner:
                    burner.kill()
                    burner.wait()
            size = sum(os.path.getsize(os.path.join(log, f)) for f in os.listdir(log))
            print(f"round {r + 1}, {mode}: log {size / 1e6:.1f} MB", flush=True)
        finally:
            shutil.rmtree(log, ignore_errors=True)
shutil.rmtree(BODY_DIR, ignore_errors=True)

print(f"{'body':24s} {'conns':>14s} {'mode':>10s} {'req/s':>8s} {'p99 ms':>8s} {'req/s ÷ off':>12s} {'p99 ÷ off':>10s}")
for key in results["off"][0]:
    off_rps = statistics.median(c[key][0] for c in results["off"])
    off_p99 = statistics.median(c[key][1] for c in results["off"])
    for mode in MODES:
        rps = statistics.median(c[key][0] for c in results[mode])
        p99 = statistics.median(c[key][1] for c in results[mode])
        errors = sum(c[key][2] for c in results[mode])
        print(f"{key[0]:24s} {str(key[1]):>14s} {mode:>10s} {rps:8.0f} {p99:8.2f} {rps / off_rps:12.2f} {p99 / off_p99:10.2f}  errors {errors}")
