"""Records Python's scoring server answering for the iris XGBoost model with a column-based signature
(sepal_length double, sepal_width float, petal_length long, petal_width double optional).
usage: python3 record.py PORT OUT_DIR   (the server: mlflow models serve -m <model folder> --env-manager local -p PORT)"""
import http.client, json, os, sys

PORT, OUT = int(sys.argv[1]), sys.argv[2]
COLS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CASES = [
    ("columns-reordered-extra", "columns in another order, and an extra one", "application/json",
     {"dataframe_split": {"columns": ["petal_width", "petal_length", "sepal_width", "sepal_length", "id"], "data": [[0.2, 1.4, 3.5, 5.1, "a"], [1.5, 4.9, 2.5, 6.3, "b"]]}}),
    ("ints-and-numeric-text", "ints for double/float, numeric text", "application/json",
     {"dataframe_split": {"columns": COLS, "data": [[5, "3.5", 1, 0.2], [6, 2, "4", "1.5"]]}}),
    ("float-truncated-to-long", "1.9 and 4.9 into the long column petal_length", "application/json",
     {"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.9, "petal_width": 0.2}, {"sepal_length": 6.3, "sepal_width": 2.5, "petal_length": 4.9, "petal_width": 1.5}]}),
    ("error-text-for-double", "'abc' for sepal_length", "application/json",
     {"dataframe_split": {"columns": COLS, "data": [["abc", 3.5, 1, 0.2]]}}),
    ("error-missing-required", "no petal_length", "application/json",
     {"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_width": 0.2, "x": 1}]}),
    ("error-null-for-long", "null in the long column", "application/json",
     {"dataframe_split": {"columns": COLS, "data": [[5.1, 3.5, None, 0.2]]}}),
    ("error-decimal-text-for-long", "'1.5' in the long column", "application/json",
     {"dataframe_split": {"columns": COLS, "data": [[5.1, 3.5, "1.5", 0.2]]}}),
    ("null-for-double", "null in the double column petal_width", "application/json",
     {"dataframe_split": {"columns": COLS, "data": [[5.1, 3.5, 1, None]]}}),
    ("missing-optional", "no petal_width (optional)", "application/json",
     {"dataframe_records": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1}]}),
    ("csv-header-reordered", "CSV with a header in another order", "text/csv",
     "petal_length,sepal_length,petal_width,sepal_width\n1,5.1,0.2,3.5\n5,6.3,1.5,2.5\n"),
    ("inputs-columnar", "inputs as a dictionary of columns", "application/json",
     {"inputs": {"sepal_length": [5.1, 6.3], "sepal_width": [3.5, 2.5], "petal_length": [1, 5], "petal_width": [0.2, 1.5]}}),
    ("instances-rows", "instances as positional rows", "application/json",
     {"instances": [[5.1, 3.5, 1, 0.2], [6.3, 2.5, 5, 1.5]]}),
    ("inputs-records", "inputs as a list of records", "application/json",
     {"inputs": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1, "petal_width": 0.2}]}),
    ("boolean-for-double", "true/false for doubles", "application/json",
     {"dataframe_split": {"columns": COLS, "data": [[True, 3.5, 1, False]]}}),
    ("csv-error-fraction-for-long", "CSV: 1.5 in the long column (read_csv with the signature's dtypes)", "text/csv",
     "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.5,0.2\n"),
    ("csv-error-empty-long", "CSV: an empty field in the long column", "text/csv",
     "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,,0.2\n"),
    ("csv-error-text-for-double", "CSV: text in a double column", "text/csv",
     "sepal_length,sepal_width,petal_length,petal_width\nabc,3.5,1,0.2\n"),
    ("csv-integral-float-for-long", "CSV: 1e0 in the long column (an integral float: read)", "text/csv",
     "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1e0,0.2\n"),
]
os.makedirs(OUT, exist_ok=True)
index = []
for i, (name, note, ctype, payload) in enumerate(CASES, 1):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    headers = {"Content-Type": ctype}
    c.request("POST", "/invocations", body.encode(), headers)
    r = c.getresponse()
    text = r.read().decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "stack_trace" in parsed:
        parsed["stack_trace"] = "<omitted>"
    exchange = {"name": name, "note": note,
                "request": {"method": "POST", "path": "/invocations", "headers": headers, "body": body},
                "response": {"status": r.status, "reason": r.reason, "headers": [[k, v] for k, v in r.getheaders() if k.lower() != "date"], "json": parsed}}
    file = f"{i:03d}-{name}.json"
    with open(os.path.join(OUT, file), "w") as f:
        json.dump(exchange, f, indent=1)
    index.append({"file": file, "status": r.status})
    print(file, r.status, text[:160])
with open(os.path.join(OUT, "index.json"), "w") as f:
    json.dump(index, f, indent=1)
