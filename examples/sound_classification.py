"""Sound classification with the SDK: upload a folder of WAVs per class → train → deploy → predict.

    python examples/sound_classification.py [--data ./sounds]    # ./sounds/<class>/*.wav (16-bit)
"""

from common import client, finish, options, show_training
from tiny_data import sound_folders

args = options(__doc__)
exeml = client()
data = args.data or sound_folders(args.workdir / "sounds")

project = exeml.create_project(args.name, "sound_classification")
uploaded = exeml.upload(project.dataset_id, data, labels_from_folders=True)
print(f"{len(uploaded.accepted)} sounds added, {len(uploaded.rejected)} refused")
version = exeml.train(project, max_minutes=args.max_minutes, wait=True, on_progress=show_training)
print(f"\n{version.name}: {version.metrics}")
service = exeml.deploy(project, version.name, idle_minutes=args.idle_minutes, wait=True)
sound = sorted(data.rglob("*.wav"))[0]
answer = exeml.predict(service.id, sound)
print(f"{sound.name} → {answer['predicted_label']}")
if not args.keep_service:
    exeml.stop_service(service.id)
finish({"project": project.id, "version": version.name, "version_id": version.id, "service": service.id,
        "file": sound.name, "prediction": answer})
