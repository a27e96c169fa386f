// End-to-end flows of the console against a live ExeML (web + worker), driven with
// playwright-core and Debian's chromium. Started by tests/e2e/test_console_e2e.py, which
// sets BASE_URL, USERNAME, PASSWORD, TOKEN and ARTIFACTS; by hand:
//   BASE_URL=http://127.0.0.1:8000 USERNAME=demo PASSWORD=... TOKEN=... node --test e2e/console.test.mjs
import assert from "node:assert/strict";
import { after } from "node:test";
import {
  allSamples, api, apiBytes, cfg, closeBrowser, countOf, flow, loadedCount, login, openProject, projectByName, seconds, shot,
  startTraining, tid, waitForVersion, waitUntil,
} from "./lib.mjs";

after(closeBrowser);

flow("image classification: wizard, label, train, deploy, predict", async (page) => {
  const name = `e2e-img-${Date.now().toString(36).slice(-5)}`;
  await login(page);
  assert.equal(await tid(page, "header-role").textContent(), "owner");
  await shot(page, "01-exeml");

  // Create the project over the demo images through the storage picker.
  await tid(page, "create-project-image_classification").click();
  await tid(page, "wizard-name").fill(name);
  await tid(page, "wizard-dataset-name").fill(name.replace(/-/g, "_"));
  await tid(page, "wizard-input-path-browse").click();
  await tid(page, "storage-folder-demo").click();
  await tid(page, "storage-folder-images").click();
  await tid(page, "storage-object-img_0001.jpg").or(page.getByText("img_0001.jpg")).first().waitFor();
  await tid(page, "storage-pick").click();
  const input = await tid(page, "wizard-input-path").inputValue();
  assert.match(input, /^s3:\/\/[^/]+\/.*demo\/images\/$/);
  await tid(page, "wizard-output-path").fill(input.replace(/demo\/images\/$/, `e2e/${name}/`));
  await shot(page, "02-wizard");
  await tid(page, "wizard-create").click();
  await page.waitForURL(/\/projects\/[0-9a-f-]+\/label$/);
  const project = await projectByName(name);

  // The new dataset synchronizes on the worker; the imported .txt labels come with it.
  await waitUntil(async () => (await tid(page, "sample-item").count()) > 0 || (await page.reload(), false), {
    timeout: seconds(60), interval: 3000, message: "imported samples on the Unlabeled tab",
  });
  const unlabeled0 = await loadedCount(page, "unlabeled-count");
  const labeled0 = await loadedCount(page, "labeled-count");
  assert.ok(unlabeled0 >= 2 && labeled0 > 0, `demo data imported (unlabeled ${unlabeled0}, labeled ${labeled0})`);

  // Label two unlabeled images with two classes: select, then click the label.
  const labelled = [];
  for (const [i, label] of [[1, "circle"], [2, "square"]]) {
    const item = tid(page, "sample-item").first();
    labelled.push({ id: await item.getAttribute("data-sample-id"), label });
    await item.getByTestId("sample-checkbox").check();
    await waitUntil(async () => (await tid(page, "selection-count").textContent()).startsWith("1 selected"), { message: "selection" });
    await tid(page, `label-button-${label}`).click();
    await waitUntil(async () => (await countOf(page, "unlabeled-count")) === unlabeled0 - i, { message: `unlabeled count ${unlabeled0 - i}` });
  }
  assert.equal(await countOf(page, "labeled-count"), labeled0 + 2);
  await shot(page, "03-label-images");
  for (const { id, label } of labelled) {
    const s = await api(`/api/v1/datasets/${project.dataset.id}/samples/${id}`);
    assert.deepEqual(s.labels, [label], `labels of ${s.name} through the API`);
  }

  // Train with the smallest budget, performance first; wait for the metrics.
  const version = await startTraining(page);
  await waitForVersion(page, project.id, version);
  await tid(page, "metric-accuracy").waitFor();
  const accuracy = Number((await tid(page, "metric-accuracy").locator("b").textContent()).replace("%", ""));
  assert.ok(Number.isFinite(accuracy), "accuracy shown");
  await shot(page, "04-train-images");

  // Deploy (auto stop, 1 hour), wait for running, predict an uploaded image.
  await tid(page, "version-detail").getByTestId("deploy-button").click();
  await tid(page, "deploy-dialog").waitFor();
  assert.ok(await tid(page, "deploy-auto-stop").isChecked(), "auto stop on by default");
  await tid(page, "deploy-auto-stop-hours").selectOption("1");
  const flavor = tid(page, "deploy-flavor");
  await waitUntil(async () => (await flavor.locator("option").count()) > 0, { message: "deploy flavors" });
  const codes = await flavor.locator("option").evaluateAll((os) => os.map((o) => o.value));
  await flavor.selectOption(codes.find((c) => /cpu/i.test(c)) ?? codes[0]);
  if (await tid(page, "deploy-free-agree").count()) await tid(page, "deploy-free-agree").check();
  await tid(page, "deploy-submit").click();
  await page.waitForURL(/\/deploy$/);
  await page.locator('[data-testid="service-row"][data-status="running"]').first().waitFor({ timeout: seconds(90) });
  const sample = (await allSamples(project.dataset.id, "&labeled=true"))[0];
  const image = await apiBytes(sample.content_url);
  await tid(page, "test-upload").setInputFiles({ name: "test.jpg", mimeType: "image/jpeg", buffer: image });
  await tid(page, "test-predict").click();
  await tid(page, "test-predicted-label").waitFor({ timeout: seconds(60) });
  const predicted = (await tid(page, "test-predicted-label").locator("b").textContent()).trim();
  assert.ok(["circle", "square", "triangle"].includes(predicted), `predicted label ${predicted}`);
  await shot(page, "05-deploy-images");
  const services = await api("/api/v1/services");
  const list = Array.isArray(services) ? services : services.results;
  const service = list.find((s) => s.project_id === project.id);
  assert.ok(service?.stop_at, "the service has an auto-stop time");
  const hours = (Date.parse(service.stop_at) - Date.now()) / 3.6e6;
  assert.ok(hours > 0.8 && hours <= 1.01, `auto stop about 1 h away (${hours.toFixed(2)} h)`);
  // Free the slot for the rest of the suite.
  await api(`/api/v1/services/${service.id}/stop`, { method: "POST" });
});

flow("object detection: draw a box with the mouse, save, check through the API", async (page) => {
  const project = await projectByName("demo-detection");
  await login(page);
  await openProject(page, "demo-detection", "label");
  // The demo's images are all labelled; edit the first labelled one.
  await tid(page, "tab-labeled").click();
  const first = tid(page, "sample-item").first();
  await first.waitFor();
  const sampleId = await first.getAttribute("data-sample-id");
  const before = await api(`/api/v1/datasets/${project.dataset.id}/samples/${sampleId}`);
  await first.click();
  const canvas = tid(page, "box-canvas");
  await canvas.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="box-canvas"]')?.getAttribute("data-image-width"));
  const boxesBefore = await tid(page, "box-rect").count();
  assert.equal(boxesBefore, before.objects.length, "editor shows the saved boxes");

  await tid(page, "box-label-square").click();
  const view = await canvas.evaluate((el) => ({
    scale: Number(el.dataset.scale), ox: Number(el.dataset.offsetX), oy: Number(el.dataset.offsetY),
    w: Number(el.dataset.imageWidth), h: Number(el.dataset.imageHeight),
  }));
  // A box in image pixels, drawn where the screen shows those pixels.
  const want = [Math.round(view.w * 0.05), Math.round(view.h * 0.6), Math.round(view.w * 0.35), Math.round(view.h * 0.9)];
  const r = await canvas.boundingBox();
  const sx = (x) => r.x + view.ox + x * view.scale;
  const sy = (y) => r.y + view.oy + y * view.scale;
  await page.mouse.move(sx(want[0]), sy(want[1]));
  await page.mouse.down();
  await page.mouse.move(sx((want[0] + want[2]) / 2), sy((want[1] + want[3]) / 2), { steps: 4 });
  await page.mouse.move(sx(want[2]), sy(want[3]), { steps: 4 });
  await page.mouse.up();
  await waitUntil(async () => (await tid(page, "box-rect").count()) === boxesBefore + 1, { message: "the drawn box" });
  const drawn = tid(page, "box-rect").last();
  assert.equal(await drawn.getAttribute("data-label"), "square");
  // Boxes save themselves a moment after each change (no Save click needed).
  await page.locator('[data-testid="det-status"][data-state="saved"]').waitFor({ timeout: seconds(20) });
  await shot(page, "06-label-detection");

  const after = await api(`/api/v1/datasets/${project.dataset.id}/samples/${sampleId}`);
  assert.equal(after.objects.length, before.objects.length + 1);
  const added = after.objects.find((o) => !before.objects.some((b) => JSON.stringify(b.bbox) === JSON.stringify(o.bbox)));
  assert.ok(added, `a new box in ${JSON.stringify(after.objects)}`);
  assert.equal(added.label, "square");
  // A screen pixel is 1/scale image pixels; allow a couple of them.
  const tolerance = Math.max(2, 2 / view.scale);
  added.bbox.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= tolerance, `bbox ${JSON.stringify(added.bbox)} vs drawn ${JSON.stringify(want)}`));
  assert.ok(added.bbox.every((v) => v >= 0) && added.bbox[2] <= view.w && added.bbox[3] <= view.h, "bbox inside the image");
  if (after.revision !== undefined && before.revision !== undefined) assert.ok(after.revision > before.revision, "revision bumped");
});

flow("predictive analytics: label column in the preview, train, version completes", async (page) => {
  const project = await projectByName("demo-table");
  await login(page);
  await openProject(page, "demo-table", "label");
  await tid(page, "preview-table").waitFor();
  const select = tid(page, "label-column-select");
  const options = await select.locator("option:not([disabled])").evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
  assert.ok(options.length >= 2, `valid columns: ${options}`);
  const column = options.at(-1);
  await tid(page, "label-type-select").selectOption("discrete");
  await select.selectOption(column);
  await tid(page, "label-column-save").click();
  await tid(page, "label-column-saved").waitFor();
  await shot(page, "07-label-table");
  const saved = await api(`/api/v1/projects/${project.id}`);
  assert.equal(saved.label_column, column);
  assert.equal(saved.label_type, "discrete");

  const version = await startTraining(page);
  await waitForVersion(page, project.id, version);
  await tid(page, "version-metrics").waitFor();
  await shot(page, "08-train-table");
  const v = await api(`/api/v1/projects/${project.id}/versions/${version}`);
  assert.equal(v.status, "completed");
  assert.ok(Object.keys(v.metrics ?? {}).length > 0, "metrics through the API");
});

flow("sound: give a label a shortcut key, label the current clip with it", async (page) => {
  const project = await projectByName("demo-sound");
  const labels = await api(`/api/v1/datasets/${project.dataset.id}/labels`);
  const label = (Array.isArray(labels) ? labels : labels.results)[0]?.name;
  assert.ok(label, "the demo sound dataset has labels");
  await login(page);
  await openProject(page, "demo-sound", "label");
  await tid(page, "sound-current").waitFor();

  // Give the label the shortcut "k" through All Labels (modify).
  const row = tid(page, `label-row-${label}`);
  await row.getByTestId("label-edit").click();
  await tid(page, "label-edit-shortcut").fill("k");
  await tid(page, "label-edit-save").click();
  await row.locator("kbd").filter({ hasText: "k" }).waitFor();
  const after = await api(`/api/v1/datasets/${project.dataset.id}/labels`);
  assert.equal((Array.isArray(after) ? after : after.results).find((l) => l.name === label)?.shortcut, "k");

  const current = tid(page, "sound-current");
  const name = await current.getAttribute("data-sample-name");
  const item = page.locator(`[data-testid="sample-item"][data-sample-name="${name}"]`).first();
  const sampleId = await item.getAttribute("data-sample-id");
  await page.locator("body").click({ position: { x: 5, y: 5 } }); // keyboard focus off any input
  await page.keyboard.press("k");
  // Labelling moves on to the next clip and shows the label on the one just labelled.
  await waitUntil(async () => (await current.getAttribute("data-sample-name")) !== name, { message: "the next clip" });
  await item.getByTestId("sample-label").filter({ hasText: label }).waitFor();
  await shot(page, "09-label-sound");
  const s = await api(`/api/v1/datasets/${project.dataset.id}/samples/${sampleId}`);
  assert.deepEqual(s.labels, [label]);
});

flow("text: label a page of lines, Save Current Page, check through the API", async (page) => {
  const project = await projectByName("demo-text");
  await login(page);
  await openProject(page, "demo-text", "label");
  // Unlabeled lines when there are (a fresh server); else relabel the first labeled page.
  if ((await loadedCount(page, "unlabeled-count")) === 0) await tid(page, "tab-labeled").click();
  await tid(page, "text-labeler").waitFor();
  const items = tid(page, "sample-item");
  await items.first().waitFor();
  const n = await items.count();
  const choices = [];
  for (let i = 0; i < n; i++) {
    const item = items.nth(i);
    const text = (await item.getByTestId("text-content").textContent()) ?? "";
    // A crude guess is enough: the test checks what was chosen arrives, not the model.
    let label = /regret|stopped|broke|bad|poor|worst|never|refund|disappoint|slow|not/i.test(text) ? "negative" : "positive";
    // Clicking the label a line already has would clear it.
    if (/\bactive\b/.test((await item.getByTestId(`label-button-${label}`).getAttribute("class")) ?? "")) {
      label = label === "positive" ? "negative" : "positive";
    }
    choices.push({ id: await item.getAttribute("data-sample-id"), label });
    await item.getByTestId(`label-button-${label}`).click();
  }
  await tid(page, "text-dirty").waitFor();
  await shot(page, "10-label-text");
  await tid(page, "text-save-page").click();
  await tid(page, "text-dirty").waitFor({ state: "detached", timeout: seconds(30) });
  for (const { id, label } of choices) {
    const s = await api(`/api/v1/datasets/${project.dataset.id}/samples/${id}`);
    assert.deepEqual(s.labels, [label], `labels of line ${s.line_number ?? s.name}`);
  }
});

flow("upload from the console: a CSV through the storage picker; files dropped on a labeling page", async (page) => {
  const tag = Date.now().toString(36).slice(-5);
  await login(page);

  // The predictive-analytics wizard's picker: a new folder, then Upload files there.
  await tid(page, "create-project-predictive_analytics").click();
  await tid(page, "wizard-training-data-browse").click();
  await tid(page, "storage-new-folder").fill(`e2e-upload-${tag}`);
  await tid(page, "storage-create-folder").click();
  await waitUntil(async () => (await tid(page, "storage-path").inputValue()).endsWith(`/e2e-upload-${tag}/`), { message: "the new folder" });
  const folder = await tid(page, "storage-path").inputValue();
  await tid(page, "storage-upload-input").setInputFiles([
    { name: "table.csv", mimeType: "text/csv", buffer: Buffer.from("age;city;bought\n31;Paris;yes\n45;\"Lyon, FR\";no\n") },
    { name: "photo.gif", mimeType: "image/gif", buffer: Buffer.from("GIF89a") },
  ]);
  await tid(page, "storage-object-table.csv").waitFor();
  const files = tid(page, "storage-upload-files");
  await files.locator('li[data-status="done"]').filter({ hasText: "table.csv" }).waitFor();
  await files.locator('li[data-status="refused"]').filter({ hasText: "photo.gif" }).getByText("only .csv files can be put here").waitFor();
  await shot(page, "17-storage-upload");
  await tid(page, "storage-pick").click();
  assert.equal(await tid(page, "wizard-training-data").inputValue(), `${folder}table.csv`);
  const listed = await api(`/api/v1/storage/browse?path=${encodeURIComponent(folder)}`);
  assert.deepEqual(listed.objects.map((o) => o.path), [`${folder}table.csv`], "stored through the API");

  // A text project over an empty folder: files dropped on its Label tab go into the dataset.
  const input = `${folder}texts/`;
  await api("/api/v1/storage/folders", { method: "POST", body: { path: input } });
  const name = `e2e-drop-${tag}`;
  await api("/api/v1/projects", { method: "POST", body: {
    name, type: "text_classification",
    dataset: { source: "create", name: name.replace(/-/g, "_"), input_path: input, output_path: `${folder}out/`,
               labels: [{ name: "good", color: "#00aa00" }, { name: "bad", color: "#aa0000" }] },
  } });
  await openProject(page, name, "label");
  await tid(page, "unlabeled-count").filter({ hasText: "0" }).waitFor();
  const dropped = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["first line\nsecond line\n"], "notes.txt", { type: "text/plain" }));
    dt.items.add(new File(["GIF89a"], "photo.gif", { type: "image/gif" }));
    return dt;
  });
  await tid(page, "label-drop-target").dispatchEvent("dragover", { dataTransfer: dropped });
  await tid(page, "label-drop-target").dispatchEvent("drop", { dataTransfer: dropped });
  const results = tid(page, "upload-results");
  await results.getByText("1 accepted, 1 rejected").waitFor({ timeout: seconds(30) });
  await results.getByText("photo.gif").waitFor();
  await shot(page, "18-label-drop");
  await tid(page, "upload-dialog").getByRole("button", { name: "Close" }).first().click();
  await waitUntil(async () => (await countOf(page, "unlabeled-count")) === 2, { message: "the dropped file's two lines" });
  assert.equal(await tid(page, "sample-item").count(), 2);

  // A larger upload (over the 1,000 rows imported within the request) is answered with an
  // import job: the dialog follows it, then lists its files with the refused one's reason.
  const large = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    const lines = Array.from({ length: 1500 }, (_, i) => `review number ${i} of the product`).join("\n");
    dt.items.add(new File([lines + "\n"], "many.txt", { type: "text/plain" }));
    dt.items.add(new File(["\u0000".repeat(64) + "\n"], "binary.txt", { type: "text/plain" }));
    return dt;
  });
  await tid(page, "label-drop-target").dispatchEvent("dragover", { dataTransfer: large });
  await tid(page, "label-drop-target").dispatchEvent("drop", { dataTransfer: large });
  const imported = tid(page, "upload-results");
  await imported.getByText("1 accepted, 1 rejected").waitFor({ timeout: seconds(120) });
  await imported.getByText(/NUL bytes/).waitFor();
  await tid(page, "upload-dialog").getByRole("button", { name: "Close" }).first().click();
  await waitUntil(async () => (await countOf(page, "unlabeled-count")) === 1502, { message: "the large file's 1,500 lines" });
});

flow("a token is created and used", async (page) => {
  const name = `e2e-token-${Date.now().toString(36).slice(-5)}`;
  const call = (key) => fetch(`${cfg.base}/api/v1/projects`, { headers: { "X-Auth-Token": key, Accept: "application/json" } });
  await login(page);
  await tid(page, "nav-tokens").click();
  await page.waitForURL(/\/tokens$/);

  // A name is required; then the key is shown once.
  await tid(page, "token-create").click();
  await tid(page, "token-submit").click();
  await tid(page, "token-dialog").getByText("Enter a name").waitFor();
  await tid(page, "token-name-input").fill(name);
  await tid(page, "token-submit").click();
  const key = (await tid(page, "token-key").textContent()).trim();
  assert.match(key, /^[0-9a-f]{40}$/, "the key is on the page");
  await tid(page, "token-dialog").getByText("shown only once").waitFor();
  await shot(page, "15-token-created");

  // The key works from outside the browser (no session cookie: the token alone).
  const used = await call(key);
  assert.equal(used.status, 200, "the new token lists projects");
  assert.ok(Array.isArray((await used.json()).results), "a page of projects");

  await tid(page, "token-done").click();
  const row = tid(page, "token-row").filter({ hasText: name });
  await row.waitFor();
  assert.equal(await row.getAttribute("data-state"), "active");
  assert.ok(!(await page.content()).includes(key), "the key is not shown again");
  const listed = await (await fetch(`${cfg.base}/api/v1/tokens`, { headers: { "X-Auth-Token": key } })).text();
  assert.ok(listed.includes(name) && !listed.includes(key), "listed through the API without its key");

  // Revoke with a confirm: the key is refused at once.
  await row.getByTestId("token-revoke").click();
  await tid(page, "confirm-ok").click();
  await page.locator('[data-testid="token-row"][data-state="revoked"]').filter({ hasText: name }).waitFor();
  await shot(page, "16-token-revoked");
  assert.equal((await call(key)).status, 401, "the revoked token is refused");
});

flow("resource pages: datasets, models with ONNX download, services, usage; sign out", async (page) => {
  await login(page);
  await tid(page, "nav-datasets").click();
  await tid(page, "dataset-row-demo-text").waitFor();
  await shot(page, "11-datasets");

  await tid(page, "nav-models").click();
  await tid(page, "model-list").waitFor();
  // The earlier flows trained models; the first is listed and downloadable (owner).
  const row = page.locator('[data-testid^="model-row-"]').first();
  await row.waitFor();
  const href = await row.getByTestId("model-download").getAttribute("href");
  assert.ok(href, "download link");
  const bundle = await apiBytes(href);
  assert.equal(bundle.subarray(0, 2).toString("latin1"), "PK", "the ONNX bundle is a zip");
  await shot(page, "12-models");

  await tid(page, "nav-services").click();
  await tid(page, "service-card").first().waitFor();
  await shot(page, "13-services");

  await tid(page, "nav-usage").click();
  await tid(page, "quota-list").waitFor();
  await shot(page, "14-usage");

  await tid(page, "logout").click();
  await tid(page, "login-form").waitFor();
  await page.goto(`${cfg.base}/models`);
  await tid(page, "login-form").waitFor();
});
