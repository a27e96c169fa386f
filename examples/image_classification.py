"""Image classification with the SDK: upload a folder per class → train → deploy → predict.

    export EXEML_URL=http://127.0.0.1:8000 EXEML_TOKEN=...   # or: exeml login
    python examples/image_classification.py [--data ./flowers]    # ./flowers/<class>/*.jpg
"""

from common import client, finish, options, show_training
from tiny_data import image_folders

args = options(__doc__)
exeml = client()
data = args.data or image_folders(args.workdir / "shapes")

# 1. A project with its dataset (input/output folders default to the tenant's storage root).
project = exeml.create_project(args.name, "image_classification", description="SDK example")
# 2. Upload every image; each one is labelled with its folder's name.
uploaded = exeml.upload(project.dataset_id, data, labels_from_folders=True,
                        on_progress=lambda f, nf, b, nb: print(f"\rupload {f}/{nf} files", end=""))
print(f"\n{len(uploaded.accepted)} images added, {len(uploaded.rejected)} refused")
# 3. Train and wait, showing progress; a failed training raises exeml_client.Failed.
version = exeml.train(project, max_minutes=args.max_minutes, wait=True, on_progress=show_training)
print(f"\n{version.name}: {version.metrics}")
# 4. Deploy the version and wait until it answers.
service = exeml.deploy(project, version.name, hours=1, idle_minutes=args.idle_minutes, wait=True)
# 5. Predict one image.
first = next(p for p in sorted(data.rglob("*")) if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"))
answer = exeml.predict(service.id, first)
print(f"{first.name} → {answer['predicted_label']}")
if not args.keep_service:
    exeml.stop_service(service.id)
finish({"project": project.id, "version": version.name, "version_id": version.id, "service": service.id,
        "file": first.name, "prediction": answer})
