"""The scoring server with and without the inference log and drift monitoring, alternately, under the same load
(docs/performance.md, "Serving with monitoring on").

usage (from the project root):
    python3 tests/MlOps.Client.Benchmarks/ScoringLoad/monitoring.py MODEL_DIR [DURATION_S] [ROUNDS]

MODEL_DIR: a model with reference_profile.json whose input columns are iris' "sepal length (cm)", … — the one
samples/MonitorDrift logs (mlruns/<experiment>/<run>/artifacts/model). Each round starts `mlops models serve -m MODEL_DIR`
on 127.0.0.1:5598 three times — off; with `--log-dir <temp>` (every request logged); with `--log-dir <temp>
--monitor-drift` (also windows of 1,000 rows tested) — and runs load.py against each; the table gives each cell's
median over the rounds and the ratios to off."""
import os, re, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = sys.argv[1]
DURATION = sys.argv[2] if len(sys.argv) > 2 else "10"
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PORT = "5598"
os.environ.setdefault("LOAD_COLUMNS", "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)")


def wait():
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/ping", timeout=1).read()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"no scoring server answered on 127.0.0.1:{PORT}")


def measure(extra):
    server = subprocess.Popen(["dotnet", cli, "models", "serve", "-m", MODEL, "-p", PORT, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait()
        out = subprocess.run([sys.executable, os.path.join(HERE, "load.py"), PORT, DURATION, str(server.pid)], capture_output=True, text=True, check=True).stdout
    finally:
        server.terminate()
        server.wait(timeout=60)
    cells = {}
    for line in out.splitlines():
        m = re.match(r"^(\d+-row \S+)\s+(\d+)\s+\d+\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            cells[(m.group(1), int(m.group(2)))] = (float(m.group(4)), float(m.group(6)), int(m.group(3)))
    return cells


subprocess.run(["dotnet", "build", "src/MlOps.Cli", "-c", "Release", "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
cli = os.path.join("src", "MlOps.Cli", "bin", "Release", "net10.0", "MlOps.Cli.dll")
MODES = {"off": [], "log": ["--log-dir", "LOG"], "log+drift": ["--log-dir", "LOG", "--monitor-drift"]}
results = {m: [] for m in MODES}
for r in range(ROUNDS):
    for mode, extra in MODES.items():
        log = tempfile.mkdtemp(prefix="mlops-bench-log-")
        try:
            results[mode].append(measure([log if a == "LOG" else a for a in extra]))
            size = sum(os.path.getsize(os.path.join(log, f)) for f in os.listdir(log))
            print(f"round {r + 1}, {mode}: log {size / 1e6:.1f} MB", flush=True)
        finally:
            shutil.rmtree(log, ignore_errors=True)

print(f"{'body':24s} {'conns':>5s} {'mode':>10s} {'req/s':>8s} {'p99 ms':>8s} {'req/s ÷ off':>12s} {'p99 ÷ off':>10s}")
for key in results["off"][0]:
    off_rps = statistics.median(c[key][0] for c in results["off"])
    off_p99 = statistics.median(c[key][1] for c in results["off"])
    for mode in MODES:
        rps = statistics.median(c[key][0] for c in results[mode])
        p99 = statistics.median(c[key][1] for c in results[mode])
        errors = sum(c[key][2] for c in results[mode])
        print(f"{key[0]:24s} {key[1]:5d} {mode:>10s} {rps:8.0f} {p99:8.2f} {rps / off_rps:12.2f} {p99 / off_p99:10.2f}  errors {errors}")
