"""Text classification with the SDK: upload texts + their labels → train → deploy → predict.

    python examples/text_classification.py [--data ./texts]    # x.txt (a text per line) + x_result.txt
"""

from common import client, finish, options, show_training
from tiny_data import text_folder

args = options(__doc__)
exeml = client()
data = args.data or text_folder(args.workdir / "texts")

project = exeml.create_project(args.name, "text_classification", labels=["positive", "negative"])
uploaded = exeml.upload(project.dataset_id, data)  # x_result.txt labels the lines of x.txt in order
print(f"{exeml.dataset(project.dataset_id).sample_count} samples, {len(uploaded.rejected)} files refused")
version = exeml.train(project, max_minutes=args.max_minutes, wait=True, on_progress=show_training)
print(f"\n{version.name}: {version.metrics}")
service = exeml.deploy(project, version.name, idle_minutes=args.idle_minutes, wait=True)
text = "love this lamp, works perfectly"
answer = exeml.predict(service.id, text=text)
print(f"{text!r} → {answer['predicted_label']}")
if not args.keep_service:
    exeml.stop_service(service.id)
finish({"project": project.id, "version": version.name, "version_id": version.id, "service": service.id,
        "text": text, "prediction": answer})
