// Model-assisted labeling end to end: train V001 of the demo image project (through the API,
// the smallest budget), then in the console pre-label with it, see the suggestions (not
// labels), sort by "label these next", accept everything above a confidence and see exactly
// those samples become labelled; A accepts and R rejects the highlighted sample's suggestion.
// Started by tests/e2e/test_console_e2e.py (the module's running `exeml run`).
import assert from "node:assert/strict";
import { after } from "node:test";
import { api, closeBrowser, countOf, flow, loadedCount, login, openProject, projectByName, seconds, shot, tid, waitUntil } from "./lib.mjs";

after(closeBrowser);

const list = (page) => (Array.isArray(page) ? page : page.results);

async function trainV001(project) {
  const versions = list(await api(`/api/v1/projects/${project.id}/versions`));
  const done = versions.find((v) => v.status === "completed");
  if (done) return done.name;
  const flavors = list(await api("/api/v1/flavors"));
  const training = flavors.filter((f) => f.purpose === "train" && f.task_types.includes("image_classification"));
  const cpu = training.find((f) => /cpu/i.test(f.device) && !f.free) ?? training.find((f) => /cpu/i.test(f.device)) ?? training[0];
  assert.ok(cpu, `a training flavor in ${JSON.stringify(flavors.map((f) => f.code))}`);
  const v = await api(`/api/v1/projects/${project.id}/train`, {
    // The smallest budget by default; E2E_ASSIST_TRAIN_MINUTES trains a better V001 for the click figures.
    method: "POST", body: { max_minutes: Number(process.env.E2E_ASSIST_TRAIN_MINUTES ?? "0.1"), preference: "performance_first", flavor: cpu.code },
  });
  const final = await waitUntil(async () => {
    const now = await api(`/api/v1/projects/${project.id}/versions/${v.name}`);
    return ["completed", "failed", "stopped"].includes(now.status) ? now : null;
  }, { timeout: seconds(300), interval: 2000, message: `${v.name} to finish training` });
  assert.equal(final.status, "completed", `training ended ${final.status}: ${final.error}`);
  return final.name;
}

async function pending(datasetId) {
  // Follows the list's next (cursor) links, as every client of a large list does.
  const out = [];
  let path = `/api/v1/datasets/${datasetId}/suggestions?status=pending&page_size=100`;
  for (;;) {
    const page = await api(path);
    out.push(...list(page));
    if (!page.next) return out;
    const next = new URL(page.next);
    path = next.pathname + next.search;
  }
}

flow("pre-label with V001, accept above a confidence, A/R on the highlighted image", async (page) => {
  const project = await projectByName("demo-images");
  const ds = project.dataset.id;
  const version = await trainV001(project);

  await login(page);
  await openProject(page, "demo-images", "label");
  const unlabeled0 = await loadedCount(page, "unlabeled-count");
  const labeled0 = await loadedCount(page, "labeled-count");
  assert.ok(unlabeled0 >= 3, `the demo leaves images unlabelled (${unlabeled0})`);

  // Pre-label: the job runs with progress and ends; its suggestions are not labels.
  await tid(page, "prelabel-version").selectOption(version);
  assert.equal((await tid(page, "prelabel-start").textContent()).trim(), `Pre-label with ${version}`);
  await tid(page, "prelabel-start").click();
  await page.locator('[data-testid="prelabel-job"][data-status="succeeded"]').waitFor({ timeout: seconds(180) });
  const suggestions = await pending(ds);
  assert.equal(suggestions.length, unlabeled0, "one suggestion per unlabelled image");
  await waitUntil(async () => (await countOf(page, "pending-count")) === unlabeled0, { message: "the pending count" });
  await waitUntil(async () => (await tid(page, "sample-suggestion").count()) > 0, { message: "suggestion badges on the samples" });
  assert.equal(await countOf(page, "labeled-count"), labeled0, "suggestions are not counted as labelled");
  assert.equal(await countOf(page, "unlabeled-count"), unlabeled0);
  await shot(page, "assist-suggestions");

  // "Label these next": the model's least sure image comes first.
  await tid(page, "sample-order").selectOption("next");
  const order = list(await api(`/api/v1/datasets/${ds}/label-next?page_size=5`));
  await waitUntil(async () => (await tid(page, "sample-item").first().getAttribute("data-sample-id")) === order[0].id, {
    message: "label-next order in the grid",
  });
  await tid(page, "sample-order").selectOption("");

  // Accept everything at or above about the median confidence: the button says how many.
  const confs = suggestions.map((s) => s.confidence).sort((a, b) => b - a);
  const t = Math.floor(confs[Math.ceil(confs.length / 2) - 1] * 100) / 100;
  const expected = suggestions.filter((s) => s.confidence >= t);
  const slider = tid(page, "accept-threshold");
  await slider.focus();
  await page.keyboard.press("Home");
  for (let i = 0; i < Math.round(t * 100); i++) await page.keyboard.press("ArrowRight");
  assert.equal((await tid(page, "accept-threshold-value").textContent()).trim(), t.toFixed(2));
  assert.equal(Number(await tid(page, "accept-above").getAttribute("data-count")), expected.length, "the count it will accept");
  await tid(page, "accept-above").click();
  await tid(page, "assist-message").filter({ hasText: `Accepted ${expected.length}` }).waitFor();
  await waitUntil(async () => (await countOf(page, "labeled-count")) === labeled0 + expected.length, { message: "labelled count after accepting" });
  assert.equal(await countOf(page, "unlabeled-count"), unlabeled0 - expected.length);
  for (const s of expected) {
    const sample = await api(`/api/v1/datasets/${ds}/samples/${s.sample.id}`);
    assert.ok(sample.labeled, `${sample.name} labelled`);
    assert.deepEqual(sample.labels, s.payload.labels, `${sample.name} got the suggested label`);
  }
  const left = await pending(ds);
  assert.deepEqual(left.map((s) => s.id).sort(), suggestions.filter((s) => s.confidence < t).map((s) => s.id).sort(), "exactly the rest still pending");
  await shot(page, "assist-accepted");
  // Figures for the closing note: UI actions from V001 to a fully labelled set. One by one:
  // a number key per highlighted image (or checkbox + label button: 2 clicks). With pre-labels:
  // Pre-label, the slider, Accept N, then one key per remaining image (A, or its number key).
  console.log(`[assist] figures ${JSON.stringify({
    unlabelled: unlabeled0, threshold: t, accepted_at_once: expected.length,
    actions_with_prelabels: 3 + left.length, keys_one_by_one: unlabeled0, clicks_one_by_one: 2 * unlabeled0,
    suggestions: suggestions.map((s) => ({ name: s.sample.name, label: s.payload.labels[0], confidence: Number(s.confidence.toFixed(3)) })),
  })}`);

  // Keyboard: A accepts the highlighted image's suggestion, R rejects the next one's.
  if (left.length >= 2) {
    const first = await tid(page, "sample-item").first().getAttribute("data-sample-id");
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    await page.keyboard.press("a");
    await waitUntil(async () => (await api(`/api/v1/datasets/${ds}/samples/${first}`)).labeled, { message: "A accepted the suggestion" });
    await waitUntil(async () => (await tid(page, "sample-item").first().getAttribute("data-sample-id")) !== first, { message: "the accepted image left the list" });
    const second = await tid(page, "sample-item").first().getAttribute("data-sample-id");
    await page.keyboard.press("r");
    await waitUntil(async () => !(await pending(ds)).some((s) => s.sample.id === second), { message: "R rejected the suggestion" });
    assert.equal((await api(`/api/v1/datasets/${ds}/samples/${second}`)).labeled, false, "a rejected suggestion labels nothing");
    await waitUntil(async () => (await countOf(page, "labeled-count")) === labeled0 + expected.length + 1, { message: "labelled count after A" });
  }

  // Suspected label errors: scan (a job), then Fix the first listed one to its suggested label.
  await tid(page, "tab-issues").click();
  await tid(page, "issues-scan").click();
  await page.locator('[data-testid="issues-job"][data-status="succeeded"]').waitFor({ timeout: seconds(240) });
  const issues = list(await api(`/api/v1/datasets/${ds}/label-issues?status=open`));
  await waitUntil(async () => (await tid(page, "issue-row").count()) === issues.length, { message: "the ranked issues listed" });
  console.log(`[assist] label check: ${issues.length} suspected errors`);
  if (issues.length > 0) {
    const top = tid(page, "issue-row").first();
    const sampleId = await top.getAttribute("data-sample-id");
    const suggested = await top.getAttribute("data-suggested");
    assert.equal(sampleId, issues[0].sample.id, "ranked as the API ranks them");
    await shot(page, "assist-issues");
    await top.getByTestId("issue-fix").click();
    await waitUntil(async () => (await tid(page, "issue-row").count()) === issues.length - 1, { message: "the fixed issue left the list" });
    assert.deepEqual((await api(`/api/v1/datasets/${ds}/samples/${sampleId}`)).labels, [suggested], "Fix relabelled to the suggestion");
  }

  // Batch prediction from the version detail: the demo images folder in, results.jsonl out.
  const dataset = await api(`/api/v1/datasets/${ds}`);
  await tid(page, "tab-train").click();
  await tid(page, `version-row-${version}`).click();
  await tid(page, "batch-open").click();
  const out = dataset.input_path.replace(/demo\/images\/$/, "e2e/batch-out/");
  await tid(page, "batch-input").fill(dataset.input_path);
  await tid(page, "batch-output").fill(out);
  await tid(page, "batch-start").click();
  await tid(page, "batch-result-path").waitFor({ timeout: seconds(180) });
  const written = (await tid(page, "batch-result-path").textContent()).trim();
  assert.ok(written.startsWith(out) && written.endsWith("/results.jsonl"), `results at ${written}`);
  // The folder's .txt label files are not images: each is reported with its reason.
  await tid(page, "batch-job-errors-toggle").click();
  assert.ok((await tid(page, "batch-job-errors").locator("li").count()) > 0, "per-file errors listed");
  await shot(page, "assist-batch");
});
