"""Object detection with the SDK: upload images + PASCAL VOC boxes → train → deploy → predict.

    python examples/object_detection.py [--data ./boxes]    # x.jpg + x.xml pairs
"""

from common import client, finish, options, show_training
from tiny_data import detection_folder

args = options(__doc__)
exeml = client()
data = args.data or detection_folder(args.workdir / "boxes")

# Detection labels need a color; the SDK picks one from its palette for plain names.
project = exeml.create_project(args.name, "object_detection", labels=["circle", "square"])
uploaded = exeml.upload(project.dataset_id, data)  # the .xml next to an image carries its boxes
print(f"{len(uploaded.accepted)} files added, {len(uploaded.rejected)} refused")
version = exeml.train(project, max_minutes=args.max_minutes, wait=True, on_progress=show_training)
print(f"\n{version.name}: {version.metrics}")
service = exeml.deploy(project, version.name, idle_minutes=args.idle_minutes, wait=True)
image = sorted(data.glob("*.jpg"))[0]
answer = exeml.predict(service.id, image)
print(f"{image.name} → {answer.get('detection_classes')}")
if not args.keep_service:
    exeml.stop_service(service.id)
finish({"project": project.id, "version": version.name, "version_id": version.id, "service": service.id,
        "file": image.name, "prediction": answer})
