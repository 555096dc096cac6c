"""The scoring paths against the limits that anchor them, in the same run (issue V, docs/performance.md "Scoring
against its limits").

usage (from the project root):
    python3 tests/MlOps.Client.Benchmarks/ScoringLoad/limits.py MODEL_DIR [DURATION_S] [ROUNDS]

MODEL_DIR: an XGBoost model folder whose input columns are iris' (samples/XGBoostIris or samples/MonitorDrift log one;
LOAD_COLUMNS names the columns sent, as in load.py). Each round starts `mlops models serve -m MODEL_DIR` on
127.0.0.1:5597 and loads it with `wrk` (Debian package `wrk`: C, one thread; post.lua sends the body) at LOAD_CONNS
connections (default 16): `GET /ping` — the host's ceiling on the same Kestrel settings — then the 1-row and the 100-row
`dataframe_split` bodies of load.py, each 2 s of warm-up then DURATION s. After the server stops, the benchmarks
project's `scoring-anchor` predicts the same 100 rows in-process on every core (no HTTP, no JSON) with XGBoost's in-place
predict and with the managed copy of the trees the server predicts from (TreeEnsemble): the faster is the limit of the
100-row path. The table gives each figure's median over the rounds and its ratio to its limit;
wrk's own CPU is printed (it shares the machine's cores with the server)."""
import csv, json, os, re, resource, statistics, subprocess, sys, tempfile, time, urllib.request
from serving import wait

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = sys.argv[1]
DURATION = sys.argv[2] if len(sys.argv) > 2 else "10"
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
PORT = "5597"
CONNS = int(os.environ.get("LOAD_CONNS", "16"))
SENT = os.environ.get("LOAD_COLUMNS", "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)").split(",")

DATA = "samples/XGBoostIris/data"
iris = list(csv.DictReader(open(f"{DATA}/iris.csv")))
split = sorted([r for r in csv.DictReader(open(f"{DATA}/iris-split-rs25.csv")) if r["set"] == "test"], key=lambda r: int(r["order"]))
COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS100 = [[float(r[c]) for c in COLS] for r in iris[:100]]
WORK = tempfile.mkdtemp(prefix="mlops-bench-limits-")
BODIES = {}
for name, data in {"1-row": [[float(iris[int(split[0]["row"])][c]) for c in COLS]], "100-row": ROWS100}.items():
    BODIES[name] = os.path.join(WORK, name + ".json")
    with open(BODIES[name], "w") as f:
        json.dump({"dataframe_split": {"columns": SENT, "data": data}}, f)
ROWS_FILE = os.path.join(WORK, "rows.csv")
with open(ROWS_FILE, "w") as f:
    f.writelines(",".join(repr(v) for v in row) + "\n" for row in ROWS100)
MODEL_FILE = next(os.path.join(MODEL, n) for n in ("model.ubj", "model.json", "model.xgb") if os.path.exists(os.path.join(MODEL, n)))


def wrk(path, body, seconds):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = ["wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s", "-s", os.path.join(HERE, "post.lua"), f"http://127.0.0.1:{PORT}{path}"]
    if body is None:
        command = ["wrk", "-t1", f"-c{CONNS}", f"-d{seconds}s", f"http://127.0.0.1:{PORT}{path}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "WRK_BODY": body or "", "WRK_RATE": "0", "WRK_CONNS": str(CONNS)}).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if body is None:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        return rps, cpu / float(seconds)
    m = re.search(r"RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+)", out)
    if not m or int(m.group(5)) > 0:
        raise SystemExit("wrk: no figures or errors:\n" + out)
    return int(m.group(1)) / (int(m.group(2)) / 1e6), cpu / float(seconds)


for project in ("src/MlOps.Cli", "tests/MlOps.Client.Benchmarks"):
    subprocess.run(["dotnet", "build", project, "-c", "Release", "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
cli = os.path.join("src", "MlOps.Cli", "bin", "Release", "net10.0", "MlOps.Cli.dll")
bench = os.path.join("tests", "MlOps.Client.Benchmarks", "bin", "Release", "net10.0", "MlOps.Client.Benchmarks.dll")
cells = {k: [] for k in ("ping", "1-row", "100-row", "anchor", "native", "managed")}
wrk_cpu = []
for r in range(ROUNDS):
    server = subprocess.Popen(["dotnet", cli, "models", "serve", "-m", MODEL, "-p", PORT], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(PORT)
        for name, path, body in (("ping", "/ping", None), ("1-row", "/invocations", BODIES["1-row"]), ("100-row", "/invocations", BODIES["100-row"])):
            wrk(path, body, 2)  # warm-up: JIT tiers, connections
            rps, cpu = wrk(path, body, DURATION)
            cells[name].append(rps)
            wrk_cpu.append(cpu)
    finally:
        server.terminate()
        server.wait(timeout=60)
    out = subprocess.run(["dotnet", bench, "scoring-anchor", MODEL_FILE, ROWS_FILE, DURATION], capture_output=True, text=True, check=True).stdout
    paths = {m.group(1): float(m.group(2)) for m in re.finditer(r"path=(\w+) rows_per_s=(\d+)", out)}
    cells["native"].append(paths["native"])
    cells["managed"].append(paths.get("managed", 0))
    cells["anchor"].append(max(paths.values()))
    print(f"round {r + 1}: ping {cells['ping'][-1]:.0f} req/s, 1-row {cells['1-row'][-1]:.0f} req/s, 100-row {cells['100-row'][-1]:.0f} req/s, "
          f"in-process predict {cells['native'][-1]:.0f} rows/s (XGBoost), {cells['managed'][-1]:.0f} rows/s (managed trees)", flush=True)

med = {k: statistics.median(v) for k, v in cells.items()}
print(f"\n{CONNS} connections, {ROUNDS} rounds of {DURATION} s, medians; wrk took {statistics.median(wrk_cpu):.2f} of a core")
print(f"{'path':34s} {'figure':>16s} {'limit':>18s} {'ratio':>6s}")
print(f"{'1-row dataframe_split':34s} {med['1-row']:10.0f} req/s {med['ping']:12.0f} req/s {med['1-row'] / med['ping']:6.2f}   (limit: GET /ping)")
print(f"{'100-row dataframe_split':34s} {med['100-row'] * 100:9.0f} rows/s {med['anchor']:11.0f} rows/s {med['100-row'] * 100 / med['anchor']:6.2f}   (limit: in-process predict, the faster of XGBoost's {med['native']:.0f} and the managed trees' {med['managed']:.0f})")
