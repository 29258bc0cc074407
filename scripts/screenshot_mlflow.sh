#!/usr/bin/env bash
# Screenshot MLflow's views of a comparison in headless Chromium: the experiment's runs table and the
# compare view of the strategies' child runs, sorted by the shared `test_score` metric.
# Usage: scripts/screenshot_mlflow.sh [results/mlflow.db] [experiment] [docs/mlflow_ranked_runs.png] [table|compare]
set -euo pipefail
db=$(realpath "${1:-results/mlflow.db}"); experiment=${2:-quickstart}; out=$(realpath -m "${3:-docs/mlflow_ranked_runs.png}")
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
py=$(dirname "$0")/../.venv/bin/python
port=$("$py" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false "$(dirname "$py")/mlflow" server --backend-store-uri "sqlite:///$db" \
    --host 127.0.0.1 --port "$port" --workers 1 >/tmp/mlflow-screenshot.log 2>&1 &
server=$!
profile=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$profile"' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 1; done
url=$("$py" - "$db" "$experiment" "$port" "${4:-table}" <<'PY'
import json, sys, urllib.parse
from mlflow.tracking import MlflowClient
db, name, port = sys.argv[1:4]
client = MlflowClient(f"sqlite:///{db}")
exp = client.get_experiment_by_name(name)
runs = client.search_runs([exp.experiment_id], "tags.mlflow.parentRunId != ''", order_by=["metrics.test_score DESC"])
latest_parent = max({r.data.tags["mlflow.parentRunId"] for r in runs},
                    key=lambda p: client.get_run(p).info.start_time)
children = [r for r in runs if r.data.tags["mlflow.parentRunId"] == latest_parent]
for r in children:
    print(f"{r.data.tags.get('strategy', r.info.run_name):>14}  test_score {r.data.metrics.get('test_score', float('nan')):.3f}",
          file=sys.stderr)
ids = json.dumps([r.info.run_id for r in children])
view = sys.argv[4] if len(sys.argv) > 4 else "table"
if view == "compare":
    print(f"http://127.0.0.1:{port}/#/compare-runs?runs={urllib.parse.quote(ids)}"
          f"&experiments={urllib.parse.quote(json.dumps([exp.experiment_id]))}")
else:  # the runs table, sorted by the shared test_score, children expanded
    search = f"tags.mlflow.parentRunId = '{latest_parent}'"
    print(f"http://127.0.0.1:{port}/#/experiments/{exp.experiment_id}/runs?searchFilter={urllib.parse.quote(search)}"
          f"&orderByKey={urllib.parse.quote('metrics.`test_score`')}&orderByAsc=false&compareRunsMode=TABLE")
PY
)
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-sync
       --user-data-dir="$profile" --hide-scrollbars --virtual-time-budget=20000)
chromium "${flags[@]}" --window-size=2200,900 --screenshot="$out" "$url" 2>/dev/null
echo "screenshot: $out ($url)"
