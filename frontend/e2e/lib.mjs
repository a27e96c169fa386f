// Shared helpers of the end-to-end suite: configuration from the environment, the browser,
// login through the form, the REST API with the demo token, screenshots, polling.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { test } from "node:test";
import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (tests/e2e starts the server and sets it)`);
  return value;
}

export const cfg = {
  base: required("BASE_URL").replace(/\/+$/, ""),
  username: required("USERNAME"),
  password: required("PASSWORD"),
  token: required("TOKEN"),
  artifacts: process.env.ARTIFACTS ?? "test-artifacts/e2e",
  chromium: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // One number scales every wait, for slow machines.
  slow: Number(process.env.E2E_SLOW ?? "1"),
};
mkdirSync(cfg.artifacts, { recursive: true });

export const seconds = (s) => Math.round(s * 1000 * cfg.slow);

let browser = null;

async function getBrowser() {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: cfg.chromium,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--metrics-recording-only",
        "--mute-audio",
        // The sound labeler auto-plays clips; no user gesture in a headless run.
        "--autoplay-policy=no-user-gesture-required",
      ],
    });
  }
  return browser;
}

export async function closeBrowser() {
  if (browser) await browser.close();
  browser = null;
}

/**
 * One flow = one node:test test with a fresh browser context (own cookies). Uncaught page
 * errors fail it; a failure leaves a "<name>-FAILED.png" screenshot beside the others.
 */
export function flow(name, fn, { timeout = seconds(240) } = {}) {
  test(name, { timeout }, async () => {
    const context = await (await getBrowser()).newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(seconds(20));
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) console.log(`  [console] ${m.text()}`);
    });
    const slug = name.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase();
    try {
      await fn(page);
      assert.deepEqual(pageErrors, [], "uncaught errors in the page");
    } catch (err) {
      await page.screenshot({ path: `${cfg.artifacts}/${slug}-FAILED.png`, fullPage: true }).catch(() => undefined);
      throw err;
    } finally {
      await context.close();
    }
  });
}

export const tid = (page, id) => page.getByTestId(id);

export async function shot(page, name) {
  await page.screenshot({ path: `${cfg.artifacts}/${name}.png`, fullPage: true });
}

/** Logs in through the login form and waits for the ExeML page. */
export async function login(page) {
  await page.goto(`${cfg.base}/exeml`);
  await tid(page, "login-form").waitFor();
  await tid(page, "login-username").fill(cfg.username);
  await tid(page, "login-password").fill(cfg.password);
  await tid(page, "login-submit").click();
  await tid(page, "project-card-image_classification").waitFor();
}

/** Opens a project from the ExeML list (searching by name) and then one of its tabs. */
export async function openProject(page, name, tab = "label") {
  await page.goto(`${cfg.base}/exeml`);
  await tid(page, "project-search").fill(name);
  const row = tid(page, `project-row-${name}`);
  await row.waitFor();
  await row.getByTestId("project-link").click();
  await tid(page, "project-title").waitFor();
  await tid(page, `tab-${tab}`).click();
}

/**
 * fetch, retried when a kept-alive connection the server had already closed fails a GET
 * ("other side closed"): a transport hiccup, not an answer of the API.
 */
async function fetchRetrying(url, init) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (err) {
      if ((init.method ?? "GET") !== "GET" || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 300 * attempt));
    }
  }
}

/** The REST API with the demo token, as a user's script would call it. */
export async function api(path, { method = "GET", body, form } = {}) {
  const headers = { "X-Auth-Token": cfg.token, Accept: "application/json" };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetchRetrying(`${cfg.base}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let data = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (raw content); keep the text
  }
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status}: ${text.slice(0, 500)}`);
  return data;
}

export async function apiBytes(path) {
  const response = await fetchRetrying(`${cfg.base}${path}`, { headers: { "X-Auth-Token": cfg.token } });
  if (!response.ok) throw new Error(`GET ${path} -> ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

export async function projectByName(name) {
  const page = await api(`/api/v1/projects?search=${encodeURIComponent(name)}&page_size=100`);
  const list = Array.isArray(page) ? page : page.results;
  const project = list.find((p) => p.name === name);
  assert.ok(project, `project ${name} not found through the API`);
  return project;
}

export async function allSamples(datasetId, query = "") {
  const out = [];
  for (let n = 1; ; n++) {
    const page = await api(`/api/v1/datasets/${datasetId}/samples?page=${n}&page_size=100${query}`);
    const list = Array.isArray(page) ? page : page.results;
    out.push(...list);
    if (Array.isArray(page) || !page.next) return out;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls until predicate() returns a truthy value, which it returns. */
export async function waitUntil(predicate, { timeout = seconds(30), interval = 500, message = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await predicate();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(interval);
  }
}

export async function countOf(page, id) {
  const text = (await tid(page, id).textContent())?.trim() ?? "";
  return Number(text);
}

/** Waits for a numeric counter (like "unlabeled-count") to show a loaded number. */
export async function loadedCount(page, id) {
  return waitUntil(async () => {
    const n = await countOf(page, id);
    return Number.isFinite(n) ? { n } : null;
  }, { message: `${id} to load` }).then((r) => r.n);
}

/**
 * Fills the training dialog with the smallest budget the console allows and a CPU flavor,
 * submits it, and returns the new version's name from the version list.
 */
export async function startTraining(page) {
  await tid(page, "tab-train").click();
  const button = tid(page, "train-button");
  await button.waitFor();
  await waitUntil(() => button.isEnabled(), { message: "the Train button to be enabled (train-check ok)" });
  const before = await page.locator('[data-testid^="version-row-"]').count();
  await button.click();
  await tid(page, "train-dialog").waitFor();
  const minutes = tid(page, "train-max-minutes");
  await minutes.fill((await minutes.getAttribute("min")) ?? "6");
  await tid(page, "train-preference-performance_first").check();
  // Prefer a paid CPU flavor (no queue agreement, runs on the main worker).
  const flavor = tid(page, "train-flavor");
  await waitUntil(async () => (await flavor.locator("option").count()) > 0, { message: "training flavors" });
  const codes = await flavor.locator("option").evaluateAll((os) => os.map((o) => o.value));
  const cpu = codes.find((c) => /cpu/i.test(c) && !/free/i.test(c)) ?? codes[0];
  await flavor.selectOption(cpu);
  if (await tid(page, "train-free-agree").count()) await tid(page, "train-free-agree").check();
  await shot(page, "train-dialog");
  await tid(page, "train-submit").click();
  await tid(page, "train-dialog").waitFor({ state: "detached" });
  const rows = page.locator('[data-testid^="version-row-"]');
  await waitUntil(async () => (await rows.count()) > before, { message: "a new version row" });
  const names = await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-testid").slice("version-row-".length)));
  return names.sort().at(-1);
}

/** Waits for a version row to reach a final state; fails with the version's error if it failed. */
export async function waitForVersion(page, projectId, name, { timeout = seconds(240) } = {}) {
  const row = tid(page, `version-row-${name}`);
  const status = await waitUntil(async () => {
    const s = await row.getAttribute("data-status");
    return ["completed", "failed", "stopped"].includes(s) ? s : null;
  }, { timeout, interval: 1000, message: `version ${name} to finish` });
  if (status !== "completed") {
    const v = await api(`/api/v1/projects/${projectId}/versions/${name}`).catch(() => ({}));
    assert.fail(`version ${name} ended ${status}: ${v.error ?? "(no error text)"}`);
  }
  await row.click();
}
