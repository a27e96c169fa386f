// The console's work-safety and keyboard flows against a live ExeML: detection boxes reach
// the server before a sidebar click leaves, Ctrl+Z takes the last box back, number keys label
// an image and a text line, the threshold slider recomputes the counts, Usage names its
// quotas, and nothing scrolls sideways at 390 px. Started by tests/e2e/test_console_ux_e2e.py.
import assert from "node:assert/strict";
import { after } from "node:test";
import { api, cfg, closeBrowser, flow, loadedCount, login, openProject, projectByName, seconds, shot, tid, waitUntil } from "./lib.mjs";

after(closeBrowser);

async function drawBox(page, fx0, fy0, fx1, fy1) {
  const canvas = tid(page, "box-canvas");
  await page.waitForFunction(() => document.querySelector('[data-testid="box-canvas"]')?.getAttribute("data-image-width"));
  const view = await canvas.evaluate((el) => ({
    scale: Number(el.dataset.scale), ox: Number(el.dataset.offsetX), oy: Number(el.dataset.offsetY),
    w: Number(el.dataset.imageWidth), h: Number(el.dataset.imageHeight),
  }));
  const r = await canvas.boundingBox();
  const sx = (x) => r.x + view.ox + x * view.w * view.scale;
  const sy = (y) => r.y + view.oy + y * view.h * view.scale;
  await page.mouse.move(sx(fx0), sy(fy0));
  await page.mouse.down();
  await page.mouse.move(sx((fx0 + fx1) / 2), sy((fy0 + fy1) / 2), { steps: 4 });
  await page.mouse.move(sx(fx1), sy(fy1), { steps: 4 });
  await page.mouse.up();
}

/** Opens a project's Label tab on a tab that has samples (a used server may have none left
 * unlabeled); returns the tab it opened. */
async function openWithSamples(page, name) {
  await openProject(page, name, "label");
  let tab = "unlabeled";
  if ((await loadedCount(page, "unlabeled-count")) === 0) {
    await tid(page, "tab-labeled").click();
    tab = "labeled";
  }
  await tid(page, "sample-item").first().waitFor();
  return tab;
}

/** Two rectangles (fractions of the image) clear of the sample's boxes, so a drag draws, not moves. */
function freeRects(sample, n = 2) {
  const w = sample.width, h = sample.height;
  const taken = sample.objects.map((o) => o.bbox);
  const cells = [];
  for (const fy of [0.04, 0.36, 0.68]) for (const fx of [0.04, 0.36, 0.68]) cells.push([fx, fy, fx + 0.26, fy + 0.26]);
  const hits = (c) => taken.some(([x0, y0, x1, y1]) => !(c[2] * w < x0 - 3 || c[0] * w > x1 + 3 || c[3] * h < y0 - 3 || c[1] * h > y1 + 3));
  const free = cells.filter((c) => !hits(c));
  assert.ok(free.length >= n, `room for ${n} new boxes on ${sample.name}`);
  return free.slice(0, n);
}

async function objectsOf(datasetId, sampleId) {
  return (await api(`/api/v1/datasets/${datasetId}/samples/${sampleId}`)).objects.length;
}

/** Log in and open the first labelled detection image in the box editor; its stored boxes and two free spots. */
async function openFirstLabeledBoxes(page, ds) {
  await login(page);
  await openProject(page, "demo-detection", "label");
  await tid(page, "tab-labeled").click();
  const first = tid(page, "sample-item").first();
  await first.waitFor();
  const sampleId = await first.getAttribute("data-sample-id");
  const original = await api(`/api/v1/datasets/${ds}/samples/${sampleId}`);
  const [r1, r2] = freeRects(original);
  await first.click();
  await tid(page, "box-canvas").waitFor();
  return { sampleId, original, before: original.objects.length, r1, r2 };
}

flow("detection: a drawn box survives a sidebar click; Ctrl+Z takes the last box back", async (page) => {
  const project = await projectByName("demo-detection");
  const ds = project.dataset.id;
  const { sampleId, original, before, r1, r2 } = await openFirstLabeledBoxes(page, ds);
  // The open image is in the URL: a reload comes back to it.
  assert.match(page.url(), new RegExp(`sample=${sampleId}`));
  await page.reload();
  await tid(page, "box-canvas").waitFor();
  assert.equal(await tid(page, "box-rect").count(), before, "the reloaded editor shows the saved boxes");

  // Draw, then leave at once through the sidebar: the box must reach the server first.
  await drawBox(page, ...r1);
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 1, { message: "the drawn box" });
  await tid(page, "nav-datasets").click();
  await page.waitForURL(/\/datasets$/, { timeout: seconds(20) });
  assert.equal(await objectsOf(ds, sampleId), before + 1, "the box is on the server after the sidebar click");

  // Back in the editor: draw a second box, wait for the autosave, then Ctrl+Z.
  await page.goBack();
  await tid(page, "box-canvas").waitFor();
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 1, { message: "the saved box shown again" });
  await drawBox(page, ...r2);
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 2, { message: "the second box" });
  await page.locator('[data-testid="det-status"][data-state="saved"]').waitFor({ timeout: seconds(20) });
  await waitUntil(async () => (await objectsOf(ds, sampleId)) === before + 2, { message: "the second box autosaved" });
  await shot(page, "ux-detection-autosaved");
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("Control+z");
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 1, { message: "Ctrl+Z removed the last box" });
  await waitUntil(async () => (await objectsOf(ds, sampleId)) === before + 1, { message: "the undo saved" });
  await page.keyboard.press("Control+Shift+z");
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 2, { message: "Ctrl+Shift+Z redid it" });
  await page.keyboard.press("Control+z");
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 1, { message: "undone again" });
  // Clean up through the UI: delete the first added box (the last in the list) and leave.
  await tid(page, "box-delete").last().click();
  await tid(page, "det-back").click();
  await tid(page, "sample-grid").waitFor();
  await waitUntil(async () => (await objectsOf(ds, sampleId)) === before, { message: "back to the original boxes" });
  await shot(page, "ux-detection-grid");
});

flow("keyboard: number keys label an image and a text line; Ctrl+A selects samples, not text", async (page) => {
  const images = await projectByName("demo-images");
  await login(page);
  const tab = await openWithSamples(page, "demo-images");
  const firstItem = tid(page, "sample-item").first();
  await firstItem.waitFor();
  const labels = await api(`/api/v1/datasets/${images.dataset.id}/labels`);
  const names = (Array.isArray(labels) ? labels : labels.results).map((l) => l.name);
  assert.ok(names.length >= 1, "demo images have labels");
  const id = await firstItem.getAttribute("data-sample-id");
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("Control+a");
  const selectedText = await page.evaluate(() => String(window.getSelection()));
  assert.equal(selectedText, "", "Ctrl+A selected no page text");
  await waitUntil(async () => /selected/.test(await tid(page, "selection-count").textContent()), { message: "Ctrl+A selected the page's samples" });
  await page.keyboard.press("Control+a"); // again: unselect all
  await waitUntil(async () => !/\d+ selected/.test(await tid(page, "selection-count").textContent()), { message: "unselected" });
  // A click on a sample's checkbox leaves that checkbox focused: the number keys must still label.
  const box = firstItem.getByTestId("sample-checkbox");
  await box.check();
  await box.uncheck();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("type")), "checkbox", "the checkbox has the focus");
  // The highlighted (first) image gets the first label by pressing 1, and Space at once opens
  // the large preview of the highlighted image: on the Unlabeled tab the labelled image has
  // already left the list, so that is the one that took its place.
  await page.keyboard.press("1");
  await page.keyboard.press(" ");
  await tid(page, "sample-preview").waitFor();
  assert.match(page.url(), /sample=/);
  if (tab === "unlabeled") assert.ok(!page.url().includes(`sample=${id}`), "Space previewed the next image, not the labelled one");
  await waitUntil(async () => (await api(`/api/v1/datasets/${images.dataset.id}/samples/${id}`)).labels.includes(names[0]), {
    message: `key 1 labelled the image ${names[0]}`,
  });
  await shot(page, "ux-image-preview");
  await page.keyboard.press("Escape");
  await tid(page, "sample-preview").waitFor({ state: "detached" });
  // Ctrl+Z takes the label back.
  await page.keyboard.press("Control+z");
  await tid(page, "undo-toast").waitFor();
  await waitUntil(async () => !(await api(`/api/v1/datasets/${images.dataset.id}/samples/${id}`)).labels.includes(names[0]), {
    message: "Ctrl+Z removed the label again",
  });

  const text = await projectByName("demo-text");
  await openWithSamples(page, "demo-text");
  const line = tid(page, "sample-item").first();
  await line.waitFor();
  const lineId = await line.getAttribute("data-sample-id");
  const tlabels = await api(`/api/v1/datasets/${text.dataset.id}/labels`);
  const tnames = (Array.isArray(tlabels) ? tlabels : tlabels.results).map((l) => l.name);
  const current = (await api(`/api/v1/datasets/${text.dataset.id}/samples/${lineId}`)).labels[0] ?? null;
  // Press the key of a label the line does not have yet (pressing its own would clear it).
  const k = tnames.findIndex((n) => n !== current);
  const line2 = tid(page, "sample-item").nth(1);
  const line2Id = await line2.getAttribute("data-sample-id");
  const current2 = (await api(`/api/v1/datasets/${text.dataset.id}/samples/${line2Id}`)).labels[0] ?? null;
  const k2 = tnames.findIndex((n) => n !== current2);
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press(String(k + 1));
  await waitUntil(async () => (await line.getAttribute("data-choice")) === tnames[k], { message: "the key chose the label" });
  // The key moved the highlight on: the next key labels the second line.
  await page.keyboard.press(String(k2 + 1));
  await waitUntil(async () => (await line2.getAttribute("data-choice")) === tnames[k2], { message: "the second key labelled the next line" });
  await tid(page, "text-dirty").waitFor();
  await shot(page, "ux-text-keyboard");
  await page.keyboard.press("Enter");
  await tid(page, "text-dirty").waitFor({ state: "detached", timeout: seconds(30) });
  const saved = await api(`/api/v1/datasets/${text.dataset.id}/samples/${lineId}`);
  assert.deepEqual(saved.labels, [tnames[k]], "Enter saved the keyboard's choice");
  assert.deepEqual((await api(`/api/v1/datasets/${text.dataset.id}/samples/${line2Id}`)).labels, [tnames[k2]], "and the second line's");
  // The list shows every saved line's label without a reload (not only the last one saved).
  assert.equal(await line.getAttribute("data-choice"), tnames[k], "the first saved line still shows its label");
  assert.equal(await line2.getAttribute("data-choice"), tnames[k2], "the second saved line shows its label");

  // Sound: Space plays and pauses the current clip; J moves to the next one.
  await openWithSamples(page, "demo-sound");
  const clip = tid(page, "sound-current");
  await clip.locator("audio").evaluate((a) => new Promise((r) => (a.readyState >= 1 ? r() : a.addEventListener("loadedmetadata", r, { once: true }))));
  const paused = () => clip.locator("audio").evaluate((a) => a.paused);
  const was = await paused();
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press(" ");
  await waitUntil(async () => (await paused()) !== was, { message: "Space toggled playback" });
  const name = await clip.getAttribute("data-sample-name");
  await page.keyboard.press("j");
  await waitUntil(async () => (await clip.getAttribute("data-sample-name")) !== name, { message: "J moved to the next clip" });
  assert.match(page.url(), /sample=/, "the current clip is in the URL");
});

flow("in single-label a key replaces the label (Labeled tab), and the label buttons show their keys", async (page) => {
  const images = await projectByName("demo-images");
  assert.equal(images.multi_label, false, "the demo image project is single-label");
  const ds = images.dataset.id;
  await login(page);
  await openProject(page, "demo-images", "label");
  assert.equal(await tid(page, "label-mode").getAttribute("data-mode"), "single");
  await tid(page, "tab-labeled").click();
  const first = tid(page, "sample-item").first();
  // The Unlabeled grid may still be shown for a moment: wait for a labelled image.
  await waitUntil(async () => /tab=labeled/.test(page.url()) && (await first.getByTestId("sample-label").count()) === 1, {
    message: "the Labeled tab's first image",
  });
  const id = await first.getAttribute("data-sample-id");
  const before = (await api(`/api/v1/datasets/${ds}/samples/${id}`)).labels;
  assert.equal(before.length, 1, "a labelled demo image has one label");
  const labels = await api(`/api/v1/datasets/${ds}/labels`);
  const other = (Array.isArray(labels) ? labels : labels.results).map((l) => l.name).find((n) => n !== before[0]);
  // Selecting it by its checkbox (which keeps the focus) shows the label buttons with their keys.
  await first.getByTestId("sample-checkbox").check();
  const button = tid(page, `label-button-${other}`);
  const key = (await button.getByTestId("label-key").textContent()).trim();
  assert.match(key, /^\S$/, `the ${other} button shows its key`);
  await page.keyboard.press(key);
  await waitUntil(async () => JSON.stringify((await api(`/api/v1/datasets/${ds}/samples/${id}`)).labels) === JSON.stringify([other]), {
    message: `key ${key} replaced ${before[0]} by ${other} (not added it)`,
  });
  await waitUntil(async () => (await first.getByTestId("sample-label").allTextContents()).join() === other, { message: "the grid shows the new label alone" });
  // The label button does the same: back to the original label, alone.
  await button.waitFor();
  await tid(page, `label-button-${before[0]}`).click();
  await waitUntil(async () => JSON.stringify((await api(`/api/v1/datasets/${ds}/samples/${id}`)).labels) === JSON.stringify(before), {
    message: "the label button replaced it back",
  });
});

flow("detection: a key chooses the next box's label without relabelling the box just drawn", async (page) => {
  const project = await projectByName("demo-detection");
  const ds = project.dataset.id;
  const labels = await api(`/api/v1/datasets/${ds}/labels`);
  const names = (Array.isArray(labels) ? labels : labels.results).map((l) => l.name);
  assert.ok(names.length >= 2, "demo detection has two labels");
  const { sampleId, original, before, r1, r2 } = await openFirstLabeledBoxes(page, ds);
  await tid(page, `box-label-${names[0]}`).click();
  await drawBox(page, ...r1);
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 1, { message: "the first box" });
  const drawn = tid(page, "box-rect").nth(before);
  assert.equal(await drawn.getAttribute("data-label"), names[0]);
  assert.equal(await drawn.getAttribute("data-selected"), "false", "a new box is not selected");
  // The key of the second label: for the NEXT box; the box just drawn keeps its label.
  const key = (await tid(page, `box-label-${names[1]}`).locator("kbd").textContent()).trim();
  await page.keyboard.press(key);
  await waitUntil(async () => /active/.test(await tid(page, `box-label-${names[1]}`).getAttribute("class")), { message: "the key chose the next label" });
  assert.equal(await drawn.getAttribute("data-label"), names[0], "the key did not relabel the box just drawn");
  await drawBox(page, ...r2);
  await waitUntil(async () => (await tid(page, "box-rect").count()) === before + 2, { message: "the second box" });
  assert.equal(await tid(page, "box-rect").nth(before + 1).getAttribute("data-label"), names[1]);
  await page.locator('[data-testid="det-status"][data-state="saved"]').waitFor({ timeout: seconds(20) });
  const near = (o, r) => Math.abs(o.bbox[0] - r[0] * original.width) < 4 && Math.abs(o.bbox[1] - r[1] * original.height) < 4;
  await waitUntil(async () => {
    const objs = (await api(`/api/v1/datasets/${ds}/samples/${sampleId}`)).objects;
    return objs.length === before + 2 && objs.find((o) => near(o, r1))?.label === names[0] && objs.find((o) => near(o, r2))?.label === names[1];
  }, { message: "autosave kept each box with the label it was drawn with" });
  // A selected box IS relabelled by a key (found by its label: the saved order may differ).
  const newLabels = async () => (await Promise.all([before, before + 1].map((i) => tid(page, "box-rect").nth(i).getAttribute("data-label"))));
  const i0 = before + (await newLabels()).indexOf(names[0]);
  await tid(page, "box-list").locator("li").nth(i0).click();
  await waitUntil(async () => (await tid(page, "box-rect").nth(i0).getAttribute("data-selected")) === "true", { message: "the clicked box is selected" });
  await page.keyboard.press(key);
  await waitUntil(async () => (await newLabels()).every((l) => l === names[1]), { message: "the key relabelled the selected box" });
  // Leave the sample as it was.
  await page.locator('[data-testid="det-status"][data-state="saved"]').waitFor({ timeout: seconds(20) });
  await tid(page, "det-back").click();
  await tid(page, "sample-grid").waitFor();
  await api(`/api/v1/datasets/${ds}/samples/${sampleId}/annotations`, {
    method: "PUT", body: { objects: original.objects.map((o) => ({ label: o.label, bbox: o.bbox })) },
  });
});

flow("evaluation: the positive class is named and the threshold slider changes the counts", async (page) => {
  const project = await projectByName("demo-table");
  const versions = await api(`/api/v1/projects/${project.id}/versions?page_size=100`);
  const all = Array.isArray(versions) ? versions : versions.results;
  const done = all.filter((v) => v.status === "completed");
  // The console suite trains one first; run alone, this flow trains one (smallest budget).
  if (!done.length && !all.some((v) => v.status === "queued" || v.status === "running")) {
    const flavors = await api("/api/v1/flavors");
    const cpu = (Array.isArray(flavors) ? flavors : flavors.results).find((f) => f.purpose === "train" && f.device === "cpu" && !f.free);
    await api(`/api/v1/projects/${project.id}/train`, { method: "POST", body: { max_minutes: 1, preference: "performance_first", flavor: cpu?.code } });
  }
  const version = done.at(-1) ?? await waitUntil(async () => {
    const vs = await api(`/api/v1/projects/${project.id}/versions?page_size=100`);
    return (Array.isArray(vs) ? vs : vs.results).find((v) => v.status === "completed");
  }, { timeout: seconds(240), interval: 3000, message: "a completed demo-table version" });
  await login(page);
  await openProject(page, "demo-table", "train");
  await tid(page, `version-row-${version.name}`).click();
  await tid(page, "binary-evaluation").waitFor();
  assert.match(await tid(page, "positive-class").textContent(), /Positive class: \S+/);
  const counts = async () => Object.fromEntries(await Promise.all(["tp", "fp", "fn", "tn"].map(async (k) => [k, Number(await tid(page, `binary-${k}`).textContent())])));
  const at05 = await counts();
  const total = at05.tp + at05.fp + at05.fn + at05.tn;
  const slider = tid(page, "threshold-slider");
  await slider.fill("0.05");
  const low = await counts();
  await slider.fill("0.95");
  const high = await counts();
  await shot(page, "ux-evaluation-threshold");
  assert.equal(low.tp + low.fp + low.fn + low.tn, total, "the counts always add up to the eval split");
  assert.ok(low.tp + low.fp >= at05.tp + at05.fp && high.tp + high.fp <= at05.tp + at05.fp, "a lower threshold predicts more positives");
  assert.notDeepEqual(low, high, `the slider changed the counts (${JSON.stringify(low)} vs ${JSON.stringify(high)})`);
  assert.equal((await tid(page, "threshold-value").textContent()).trim(), "0.95");
  // The stored counts come back at the stored threshold.
  await slider.fill(String(version.evaluation?.threshold ?? 0.5));
  assert.deepEqual(await counts(), { tp: version.evaluation.tp, fp: version.evaluation.fp, fn: version.evaluation.fn, tn: version.evaluation.tn });
  // A confusion-matrix cell opens the evaluation samples it counts.
  const cell = page.locator('[data-testid="cm-cell"]').filter({ hasNotText: /^0$/ }).first();
  const n = Number(await cell.textContent());
  await cell.click();
  await tid(page, "cell-samples").waitFor();
  await waitUntil(async () => (await tid(page, "cell-sample").count()) === Math.min(n, 24), { message: `${n} samples of the cell` });
  await page.keyboard.press("Escape");
  await tid(page, "cell-samples").waitFor({ state: "detached" });
  // With two completed versions, they compare side by side.
  if (await tid(page, "compare-select").count()) {
    const other = await tid(page, "compare-select").locator("option").nth(1).getAttribute("value");
    await tid(page, "compare-select").selectOption(other);
    await tid(page, "compare-table").waitFor();
    assert.match(await tid(page, "compare-table").textContent(), /accuracy/);
  }
  // Parameters read as words, durations as durations.
  const params = await tid(page, "version-params").textContent();
  assert.ok(!/performance_first|null/.test(params), `parameters are human-readable: ${params}`);
});

flow("usage names its quotas and shows storage in units", async (page) => {
  await login(page);
  await tid(page, "nav-usage").click();
  await tid(page, "quota-list").waitFor();
  const names = await tid(page, "quota-name").allTextContents();
  assert.ok(names.length >= 5, `quota rows: ${names}`);
  assert.ok(!names.includes("?"), `no "?" quota: ${names}`);
  assert.ok(names.includes("Projects") && names.includes("Storage"), `named quotas: ${names}`);
  const storage = await tid(page, "quota-max_storage_bytes").textContent();
  assert.match(storage, /\d+(\.\d+)? (B|KB|MB|GB|TB)/, `storage in units: ${storage}`);
  await shot(page, "ux-usage");
});

flow("390 px wide: no sideways scrolling on the list, labeling and service pages", async (page) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const table = await projectByName("demo-table");
  // A running service, for the service pages.
  const versions = await api(`/api/v1/projects/${table.id}/versions?page_size=100`);
  const version = (Array.isArray(versions) ? versions : versions.results).find((v) => v.status === "completed");
  let service = null;
  if (version) {
    service = await api(`/api/v1/projects/${table.id}/versions/${version.id}/deploy`, {
      method: "POST", body: { flavor: "deploy-ci3-cpu", auto_stop: { enabled: true, hours: 1 } },
    }).catch(() => null);
  }
  await login(page);
  const overflow = async (what) => {
    await page.waitForTimeout(300);
    const m = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, win: window.innerWidth }));
    await shot(page, `ux-390-${what}`);
    assert.ok(m.doc <= m.win + 1, `${what}: page is ${m.doc} px wide in a ${m.win} px window`);
  };
  await page.goto(`${cfg.base}/exeml`);
  await tid(page, "project-search").waitFor();
  await overflow("project-list");
  await openWithSamples(page, "demo-detection");
  await overflow("label-detection-grid");
  await tid(page, "sample-item").first().click();
  await tid(page, "box-canvas").waitFor();
  await overflow("label-detection-editor");
  await tid(page, "det-back").click();
  await openWithSamples(page, "demo-text");
  await overflow("label-text");
  await openWithSamples(page, "demo-sound");
  await overflow("label-sound");
  await openWithSamples(page, "demo-images");
  await overflow("label-images");
  await page.goto(`${cfg.base}/services`);
  await page.locator('[data-testid="service-card"], .empty').first().waitFor();
  await overflow("services");
  // The wide lists scroll inside themselves, not the page.
  await page.goto(`${cfg.base}/datasets`);
  await page.locator('[data-testid="dataset-list"], .empty').first().waitFor();
  await overflow("datasets");
  await page.goto(`${cfg.base}/models`);
  await page.locator('[data-testid="model-list"], .empty').first().waitFor();
  await overflow("models");
  await openProject(page, "demo-table", "deploy");
  if (service) await tid(page, "service-controls").waitFor({ timeout: seconds(30) });
  await overflow("deploy-tab");
  if (service) {
    // Two calls (one malformed): the Services page and the service panel show the same counts.
    await waitUntil(async () => (await api(`/api/v1/services/${service.id}`)).status === "running", { timeout: seconds(90), message: "service running" });
    const preview = await api(`/api/v1/datasets/${table.dataset.id}/preview`);
    const record = Object.fromEntries(preview.columns.map((c, i) => [c.name, c.name === table.label_column ? "" : String(preview.rows[0][i] ?? "")]));
    await api(`/v1/infers/${service.id}`, { method: "POST", body: { data: { count: 1, req_data: [record] } } });
    await api(`/v1/infers/${service.id}`, { method: "POST", body: { rows: [] } }).catch(() => undefined);
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`${cfg.base}/services`);
    const card = page.locator('[data-testid="service-card"]').filter({ has: page.locator(`[data-service-id="${service.id}"]`) });
    await waitUntil(async () => (await card.getByTestId("service-calls").textContent()) === "2", { message: "2 calls on the Services page" });
    const failedOnList = await card.getByTestId("service-failures").textContent();
    await openProject(page, "demo-table", "deploy");
    await page.locator(`[data-testid="service-row"][data-service-id="${service.id}"]`).click();
    const panel = tid(page, "service-metrics");
    await waitUntil(async () => (await panel.getByTestId("service-calls").textContent()) === "2", { message: "2 calls on the panel" });
    assert.equal(await panel.getByTestId("service-failures").textContent(), failedOnList, "failures agree");
    assert.equal(failedOnList, "1");
    await api(`/api/v1/services/${service.id}/stop`, { method: "POST" }).catch(() => undefined);
  }
});

flow("wizard keeps what was typed across a reload; an expired session signs in over the page and retries", async (page) => {
  await login(page);
  await page.goto(`${cfg.base}/exeml/create/text_classification`);
  await tid(page, "wizard-name").fill("half-typed-name");
  await tid(page, "wizard-dataset-name").fill("half_typed_ds");
  await page.waitForTimeout(200);
  await page.reload();
  await tid(page, "wizard-name").waitFor();
  assert.equal(await tid(page, "wizard-name").inputValue(), "half-typed-name");
  assert.equal(await tid(page, "wizard-dataset-name").inputValue(), "half_typed_ds");

  // The session ends while the user labels: the key press waits for a new sign-in, then lands.
  const images = await projectByName("demo-images");
  await openWithSamples(page, "demo-images");
  const first = tid(page, "sample-item").first();
  await first.waitFor();
  const id = await first.getAttribute("data-sample-id");
  const had = (await api(`/api/v1/datasets/${images.dataset.id}/samples/${id}`)).labels;
  const labels = await api(`/api/v1/datasets/${images.dataset.id}/labels`);
  const name = (Array.isArray(labels) ? labels : labels.results)[0].name;
  await page.context().clearCookies();
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  await page.keyboard.press("1");
  await tid(page, "session-expired").waitFor();
  await shot(page, "ux-session-expired");
  await tid(page, "session-password").fill(cfg.password);
  await tid(page, "session-submit").click();
  await tid(page, "session-expired").waitFor({ state: "detached" });
  await waitUntil(async () => (await api(`/api/v1/datasets/${images.dataset.id}/samples/${id}`)).labels.includes(name), {
    message: "the retried action labelled the image",
  });
  // Leave the demo data as it was (a single-label key replaced whatever label it had).
  await api(`/api/v1/datasets/${images.dataset.id}/samples/${id}/annotations`, { method: "PUT", body: { labels: had } });
});
