"""Predictive analytics with the SDK: a CSV → label column → train → deploy → predict records.

    python examples/predictive_analytics.py [--data table.csv]    # headerless, label last
"""

from common import client, finish, options, show_training
from tiny_data import table_csv

args = options(__doc__)
exeml = client()
csv = args.data or table_csv(args.workdir / "table.csv")

# The CSV is put into storage (<root>exeml-input/<name>/), the project reads it from there.
project = exeml.create_project(args.name, "predictive_analytics", csv=csv)
exeml.sync(project.dataset_id)  # profile the columns (attr_1 … attr_N)
columns = [c["name"] for c in exeml.preview(project.dataset_id)["columns"]]
label = columns[-1]
exeml.update_project(project, label_column=label, label_type="discrete")
version = exeml.train(project, max_minutes=args.max_minutes, wait=True, on_progress=show_training)
print(f"\n{version.name}: {version.metrics}")
service = exeml.deploy(project, version.name, idle_minutes=args.idle_minutes, wait=True)
# Records use the column names of the preview, without the label column.
rows = [line.split(",") for line in csv.read_text().splitlines()[:3]]
records = [{name: value for name, value in zip(columns, row, strict=True) if name != label} for row in rows]
answer = exeml.predict(service.id, records=records)
print([r["predictioncol"] for r in answer["resp_data"]])
if not args.keep_service:
    exeml.stop_service(service.id)
finish({"project": project.id, "version": version.name, "version_id": version.id, "service": service.id,
        "label_column": label, "prediction": answer})
