"""Python's scoring server and ours under the same load, in one run, as ratios (docs/performance.md).

usage (from the project root):
    python3 tests/MlOps.Client.Benchmarks/ScoringLoad/compare.py MODEL_DIR [DURATION_S] [PYTHON_PORT [PYTHON_PID]]

Builds and starts `mlops models serve -m MODEL_DIR` on 127.0.0.1:5598 and runs load.py against it. When PYTHON_PORT
is given, a Python scoring server already serving the same model there (`mlflow models serve -m MODEL_DIR
--env-manager local -h 127.0.0.1 -p PYTHON_PORT`) gets the same load first; the table then ends with the ratios.
LOAD_BODIES / LOAD_CONNS narrow the cells as for load.py."""
import os, re, subprocess, sys, time, urllib.request
from serving import wait

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = sys.argv[1]
DURATION = sys.argv[2] if len(sys.argv) > 2 else "20"
PY_PORT = sys.argv[3] if len(sys.argv) > 3 else None
PY_PID = sys.argv[4] if len(sys.argv) > 4 else ""
OUR_PORT = "5598"


def load(port, pid, label):
    print(f"## {label}", flush=True)
    out = subprocess.run([sys.executable, os.path.join(HERE, "load.py"), port, DURATION, pid], capture_output=True, text=True, check=True).stdout
    print(out, flush=True)
    cells = {}
    for line in out.splitlines():
        m = re.match(r"^(\d+-row \S+)\s+(\d+)\s+\d+\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            cells[(m.group(1), int(m.group(2)))] = (float(m.group(3)), float(m.group(4)), float(m.group(5)))
    return cells


python = None
if PY_PORT:
    wait(PY_PORT)
    python = load(PY_PORT, PY_PID, f"Python: mlflow models serve (127.0.0.1:{PY_PORT})")

subprocess.run(["dotnet", "build", "src/MlOps.Cli", "-c", "Release", "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
cli = os.path.join("src", "MlOps.Cli", "bin", "Release", "net10.0", "MlOps.Cli.dll")
server = subprocess.Popen(["dotnet", cli, "models", "serve", "-m", MODEL, "-p", OUR_PORT], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wait(OUR_PORT)
    ours = load(OUR_PORT, str(server.pid), f"MlOps.Client.Serving: mlops models serve (127.0.0.1:{OUR_PORT})")
finally:
    server.terminate()
    server.wait(timeout=30)

if python:
    print("## ours / Python")
    print(f"{'body':24s} {'conns':>5s} {'req/s ×':>8s} {'p50 ÷':>8s} {'p99 ÷':>8s}")
    for key, (rps, p50, p99) in ours.items():
        if key in python:
            prps, pp50, pp99 = python[key]
            print(f"{key[0]:24s} {key[1]:5d} {rps / prps:8.1f} {pp50 / p50:8.1f} {pp99 / p99:8.1f}")
