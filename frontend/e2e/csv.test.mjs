// A newcomer's own CSV, in the console only: a spreadsheet export (header row, ";" separators,
// quoted fields holding a ";" and doubled quotes, CRLF) goes from upload to a trained version.
// The first file uploaded has a row whose ";" is not quoted: Label Data names the row and offers
// Synchronize and "Upload a new CSV", which replaces it. Nothing is set up through the API (it
// is only read, to check what the console did). Started by tests/e2e/test_console_e2e.py.
import assert from "node:assert/strict";
import { after } from "node:test";
import { api, closeBrowser, flow, login, projectByName, seconds, shot, startTraining, tid, waitForVersion, waitUntil } from "./lib.mjs";

after(closeBrowser);

const HEADER = ["Customer age", "Comment", "City", "Monthly spend", "Segment"];
const COMMENTS = ["fast; friendly", 'slow; "late" again', "ok", "rude; never again", "great value; will return"];
const CITIES = ["Paris", "Lyon", "Nantes", "Lille"];

const quote = (v) => (/[;"]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** 200 customers; the segment follows the monthly spend, so a model can learn it. */
function customersCsv({ rows = 200, unquotedRow = false } = {}) {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const lines = [HEADER.join(";")];
  for (let i = 0; i < rows; i++) {
    const age = String(18 + Math.floor(rand() * 60));
    const comment = COMMENTS[Math.floor(rand() * COMMENTS.length)];
    const city = CITIES[Math.floor(rand() * CITIES.length)];
    const spend = 20 + rand() * 480;
    const segment = spend < 150 ? "bronze" : spend < 320 ? "silver" : "gold";
    lines.push([age, comment, city, spend.toFixed(2), segment].map(quote).join(";"));
  }
  // What a hand edit leaves: a comment holding a ";" without its quotes (one column too many).
  if (unquotedRow) lines.push("33;fast; friendly;Paris;120.00;bronze");
  return lines.join("\r\n") + "\r\n";
}

/** No sideways scrolling at 390 px, and the given controls are on screen. */
async function narrowCheck(page, what, ids) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const m = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, win: window.innerWidth }));
  await shot(page, `csv-390-${what}`);
  assert.ok(m.doc <= m.win + 1, `${what}: page is ${m.doc} px wide in a ${m.win} px window`);
  for (const id of ids) {
    const box = await tid(page, id).first().boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= m.win + 1, `${id} is within the 390 px screen: ${JSON.stringify(box)}`);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
}

flow("a CSV with a header, quotes and ; goes from upload to a trained version in the console only", async (page) => {
  const tag = Date.now().toString(36).slice(-5);
  const name = `e2e-csv-${tag}`;
  await login(page);

  // The wizard: a new folder in the storage picker, the CSV uploaded there and picked.
  await tid(page, "create-project-predictive_analytics").click();
  await tid(page, "wizard-name").fill(name);
  await tid(page, "wizard-training-data-browse").click();
  await tid(page, "storage-new-folder").fill(name);
  await tid(page, "storage-create-folder").click();
  await waitUntil(async () => (await tid(page, "storage-path").inputValue()).endsWith(`/${name}/`), { message: "the new folder" });
  const folder = await tid(page, "storage-path").inputValue();
  await tid(page, "storage-upload-input").setInputFiles([
    { name: "customers.csv", mimeType: "text/csv", buffer: Buffer.from(customersCsv({ unquotedRow: true })) },
  ]);
  await tid(page, "storage-upload-files").locator('li[data-status="done"]').filter({ hasText: "customers.csv" }).waitFor();
  await tid(page, "storage-pick").click();
  assert.equal(await tid(page, "wizard-training-data").inputValue(), `${folder}customers.csv`);
  await tid(page, "wizard-create").click();

  // Label Data: the refusal names the row and why; Synchronize and "Upload a new CSV" are there.
  const state = page.locator('[data-testid="table-state"][data-state="csv_invalid"]');
  await state.waitFor({ timeout: seconds(60) });
  const reason = await state.textContent();
  assert.match(reason, /row \d+ has 6 columns, the header has 5; a value holding a semicolon must be quoted/, reason);
  assert.ok(await tid(page, "table-sync").isEnabled(), "Synchronize is offered");
  assert.equal(await tid(page, "table-csv-path").textContent(), `${folder}customers.csv`);
  await shot(page, "csv-refused");
  await narrowCheck(page, "refused", ["table-state", "table-sync", "csv-upload"]);

  // The fixed export, under another local name: it replaces the dataset's CSV and is synchronized.
  await tid(page, "csv-upload-input").setInputFiles([
    { name: "customers (fixed).csv", mimeType: "text/csv", buffer: Buffer.from(customersCsv()) },
  ]);
  await tid(page, "csv-upload-done").filter({ hasText: "customers (fixed).csv uploaded as customers.csv" }).waitFor({ timeout: seconds(30) });
  const preview = tid(page, "preview-table");
  await preview.waitFor({ timeout: seconds(90) });
  assert.equal(await tid(page, "table-state").count(), 0, "no refusal once profiled");
  assert.equal(await tid(page, "csv-separator").textContent(), "semicolon (;)");
  assert.equal(await tid(page, "csv-header").textContent(), "yes");
  const headings = await preview.locator("thead th").evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent ?? ""));
  assert.deepEqual(headings, HEADER, "the columns are named by the header row");
  const comments = await preview.locator("tbody tr td:nth-child(2)").allTextContents();
  assert.ok(comments.includes('slow; "late" again'), `quoted fields read whole, doubled quotes undone: ${JSON.stringify(comments.slice(0, 5))}`);
  assert.match(await tid(page, "preview-row-count").textContent(), /^200 rows \(200 valid\)/);
  // Profiled, the actions stay in view (the file can change again in storage).
  assert.ok(await tid(page, "table-sync").isVisible() && await tid(page, "csv-upload").isVisible());

  // The label column, chosen by its header name.
  await tid(page, "label-type-select").selectOption("discrete");
  await tid(page, "label-column-select").selectOption("Segment");
  await tid(page, "label-column-save").click();
  await tid(page, "label-column-saved").waitFor();
  await shot(page, "csv-preview");
  await narrowCheck(page, "preview", ["table-sync", "csv-upload", "label-column-select"]);
  const project = await projectByName(name);
  assert.equal(project.label_column, "Segment");

  // Datasets lists it with the same two actions.
  await tid(page, "nav-datasets").click();
  const row = tid(page, `dataset-row-${project.dataset.name}`);
  await row.waitFor();
  assert.ok(await row.getByTestId("dataset-sync").isVisible() && await row.getByTestId("dataset-csv-upload").isVisible());
  // Secondary columns hide and the actions stack: they stay on a 390 px screen.
  await narrowCheck(page, "datasets", ["dataset-sync", "dataset-csv-upload"]);
  await page.goBack();
  await tid(page, "preview-table").waitFor();

  // Train with the smallest budget; the version completes and its evaluation is shown.
  const version = await startTraining(page);
  await waitForVersion(page, project.id, version, { timeout: seconds(300) });
  await tid(page, "version-metrics").waitFor();
  const classes = await tid(page, "per-class-table").locator("tbody td:first-child").allTextContents();
  assert.deepEqual([...classes].sort(), ["bronze", "gold", "silver"], `per-class statistics: ${classes}`);
  const v = await api(`/api/v1/projects/${project.id}/versions/${version}`);
  const features = (v.evaluation?.feature_importance ?? []).map((f) => f.feature);
  assert.ok(features.includes("Monthly spend"), `feature importance by header names: ${features}`);
  await page.getByRole("heading", { name: "Feature importance" }).scrollIntoViewIfNeeded();
  await page.getByText("Monthly spend").first().waitFor();
  await shot(page, "csv-trained");
}, { timeout: seconds(460) });
