// Evaluation views in a browser: /api/docs with the outside network blocked; a regression
// trained through the API (a tiny budget) shows its candidates lowest RMSE first, the residual
// plot and error histogram with unclipped axis labels, and a batch prediction's results listed
// and downloaded in the console.
import assert from "node:assert/strict";
import { after } from "node:test";
import { api, cfg, closeBrowser, flow, login, openProject, projectByName, seconds, shot, tid, waitUntil } from "./lib.mjs";

after(closeBrowser);

flow("/api/docs renders with the network to the outside blocked", async (page) => {
  const host = new URL(cfg.base).host;
  const blocked = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host === host) return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  await login(page);
  await page.goto(`${cfg.base}/api/docs/`);
  const operations = page.locator(".swagger-ui .opblock");
  await operations.first().waitFor({ timeout: seconds(30) });
  assert.ok((await operations.count()) > 10, "the operations list is shown");
  assert.ok(await page.locator(".swagger-ui .opblock-summary-path").first().isVisible());
  await shot(page, "eval-api-docs-offline");
  assert.deepEqual(blocked, [], "the docs page asked nothing of another host");
});

/** y = 30·size + 8000·rooms − 400·age + noise: prices in the tens of thousands (k ticks). */
function regressionCsv(rows, { label = true } = {}) {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const lines = label ? ["size,rooms,age,price"] : [];
  for (let i = 0; i < rows; i++) {
    const size = Math.round(40 + rand() * 160);
    const rooms = 1 + Math.floor(rand() * 5);
    const age = Math.round(rand() * 60);
    const price = 30 * size + 8000 * rooms - 400 * age + 20000 + (rand() - 0.5) * 6000;
    lines.push(label ? `${size},${rooms},${age},${price.toFixed(2)}` : `${size},${rooms},${age}`);
  }
  return lines.join("\n") + "\n";
}

async function upload(path, text) {
  const form = new FormData();
  form.append("path", path);
  form.append("file", new Blob([text], { type: "text/csv" }), path.slice(path.lastIndexOf("/") + 1));
  return api("/api/v1/storage/objects", { method: "POST", form });
}

const completedVersion = async (projectId) => waitUntil(async () => {
  const vs = await api(`/api/v1/projects/${projectId}/versions?page_size=100`);
  const list = Array.isArray(vs) ? vs : vs.results;
  const failed = list.find((v) => v.status === "failed");
  if (failed) throw new Error(`training failed: ${failed.error}`);
  return list.find((v) => v.status === "completed");
}, { timeout: seconds(300), interval: 3000, message: "a completed regression version" });

let regression = null;

/** A regression project trained once through the API with the smallest budget (shared by the flows below). */
async function trainedRegression() {
  if (regression) return regression;
  const demo = await projectByName("demo-table");
  const root = demo.dataset.csv_path.replace(/demo\/table\/[^/]+$/, "");
  const stamp = Date.now().toString(36);
  const csv = `${root}e2e-regression-${stamp}/houses.csv`;
  await upload(csv, regressionCsv(300));
  const project = await api("/api/v1/projects", {
    method: "POST",
    body: {
      name: `regr-${stamp}`, type: "predictive_analytics", training_data: csv,
      dataset: { source: "create", name: `regr-${stamp}`, output_path: `${root}e2e-regression-${stamp}/output/` },
    },
  });
  // The label column can be set once the sync profiled the CSV.
  await waitUntil(() => api(`/api/v1/projects/${project.id}`, { method: "PATCH", body: { label_column: "price", label_type: "continuous" } }),
    { timeout: seconds(90), interval: 1000, message: "the CSV profiled (label column accepted)" });
  const flavors = await api("/api/v1/flavors");
  const cpu = (Array.isArray(flavors) ? flavors : flavors.results).find((f) => f.purpose === "train" && f.device === "cpu" && !f.free);
  await api(`/api/v1/projects/${project.id}/train`, { method: "POST", body: { max_minutes: 0.5, preference: "performance_first", flavor: cpu?.code } });
  const version = await completedVersion(project.id);
  regression = { project, version, root, stamp };
  return regression;
}

const rmseOf = (text) => {
  const m = /(-?[\d.]+)/.exec(text.replace(/,/g, ""));
  return m ? Number(m[1]) : null;
};

flow("a regression's live table puts the lowest RMSE first; the residual plot and error histogram are drawn", async (page) => {
  const { project, version } = await trainedRegression();
  const full = await api(`/api/v1/projects/${project.id}/versions/${version.name}`);
  assert.ok(full.evaluation?.residuals?.points?.length > 0, "the evaluation stores residual points");
  await login(page);
  await openProject(page, project.name, "train");
  await tid(page, `version-row-${version.name}`).click();
  await tid(page, "version-detail").waitFor();

  // "Candidates tried": the search's leaderboard, best (lowest RMSE) first.
  const board = tid(page, "version-leaderboard");
  await board.waitFor();
  const rows = board.getByTestId("live-candidate");
  const scores = (await rows.evaluateAll((trs) => trs.map((tr) => tr.children[3].textContent ?? ""))).map(rmseOf);
  const scored = scores.filter((s) => s !== null);
  assert.ok(scored.length >= 2, `several scored candidates: ${JSON.stringify(scores)}`);
  assert.equal(scores[0], Math.min(...scored), `the first row has the lowest RMSE: ${JSON.stringify(scores)}`);
  assert.match(await rows.first().textContent(), /best on validation/);
  assert.match(await rows.first().textContent(), /rmse/i);

  // The residual plot: every stored point drawn, the y = x line, tick labels inside the chart.
  const plot = tid(page, "residual-plot");
  await plot.scrollIntoViewIfNeeded();
  assert.ok(await plot.isVisible(), "the residual plot is visible");
  assert.equal(Number(await tid(page, "residual-points").getAttribute("data-count")), full.evaluation.residuals.points.length);
  assert.ok(await tid(page, "residual-diagonal").isVisible());
  const ticks = await plot.getByTestId("residual-y-tick").evaluateAll((els) => els.map((t) => ({ text: t.textContent, x: t.getBBox().x })));
  assert.ok(ticks.length >= 3 && ticks.every((t) => t.x >= 0), `y tick labels fit the chart: ${JSON.stringify(ticks)}`);
  assert.ok(ticks.some((t) => /k$/.test(t.text)), `prices tick in k: ${JSON.stringify(ticks)}`);
  const histogram = tid(page, "error-histogram");
  assert.ok(await histogram.isVisible(), "the error histogram is visible");
  assert.equal(await histogram.getByTestId("error-bin").count(), full.evaluation.residuals.histogram.counts.length);
  await shot(page, "eval-regression-residuals");
});

flow("batch prediction results are listed and downloaded in the console", async (page) => {
  const { project, version, root, stamp } = await trainedRegression();
  const input = `${root}e2e-regression-${stamp}/batch/rows.csv`;
  await upload(input, regressionCsv(30, { label: false }));
  await login(page);
  await openProject(page, project.name, "train");
  await tid(page, `version-row-${version.name}`).click();
  await tid(page, "batch-open").click();
  await tid(page, "batch-input").fill(input);
  await tid(page, "batch-output").fill(`${root}e2e-regression-${stamp}/batch-out/`);
  await tid(page, "batch-start").click();
  const table = tid(page, "batch-results-table");
  await table.waitFor({ timeout: seconds(120) });
  const rows = table.getByTestId("batch-result-row");
  assert.equal(await rows.count(), 20, "the first 20 of the 30 rows listed");
  const last = await rows.first().locator("td").last().textContent();
  assert.ok(Number.isFinite(Number(last)), `the prediction column holds a number: ${last}`);
  const href = await tid(page, "batch-download").getAttribute("href");
  const text = await page.evaluate(async (url) => (await fetch(url)).text(), href);
  assert.equal(text.trim().split("\n").length, 31, "the downloaded file has the header and every row");
  await shot(page, "eval-batch-results");
  // A reload keeps the last run's results readable.
  await page.reload();
  await tid(page, `version-row-${version.name}`).click().catch(() => undefined);
  await tid(page, "batch-open").click();
  await tid(page, "batch-results-table").waitFor({ timeout: seconds(30) });
});
