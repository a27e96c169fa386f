// Clicks through the console against dev/mock-api.mjs and saves screenshots; reports any
// console errors. Manual aid only (not part of `npm test`):
//   node dev/mock-api.mjs & node dev/smoke.mjs [outdir]
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";

const BASE = process.env.BASE ?? "http://127.0.0.1:5179";
const OUT = process.argv[2] ?? "/tmp/exeml-shots";
mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const problems = [];
// Expected 4xx answers (wrong password, conflicts) show up as "Failed to load resource".
page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(`console: ${m.text()}`));
page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
const shot = (name) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
const step = async (name, fn) => {
  try { await fn(); await shot(name); console.log("ok  ", name); }
  catch (e) { problems.push(`${name}: ${e.message.split("\n")[0]}`); console.log("FAIL", name, e.message.split("\n")[0]); await shot(`${name}-fail`).catch(() => {}); }
};
const tid = (id) => page.getByTestId(id);

await step("01-login", async () => {
  await page.goto(`${BASE}/exeml`);
  await tid("login-form").waitFor();
  await tid("login-username").fill("alice");
  await tid("login-password").fill("wrong");
  await tid("login-submit").click();
  await page.getByRole("alert").waitFor();
});
await step("02-exeml", async () => {
  await tid("login-password").fill("secret");
  await tid("login-submit").click();
  await tid("project-card-object_detection").waitFor();
  await tid("project-row-flowers").waitFor();
  if ((await tid("header-role").textContent()) !== "owner") throw new Error("role missing");
});
await step("03-wizard-errors", async () => {
  await tid("create-project-object_detection").click();
  await tid("wizard-name").fill("1bad name");
  await tid("wizard-input-path").fill("s3://exeml/acme/x/in/");
  await tid("wizard-output-path").fill("s3://exeml/acme/x/in/out");
  await tid("wizard-label-name-0").fill("bad label!");
  await page.getByText("Must start with a letter.").waitFor();
  await page.getByText("must not lie under").waitFor();
});
await step("04-storage-picker", async () => {
  await tid("wizard-input-path-browse").click();
  await tid("storage-folder-flowers").click();
  await tid("storage-new-folder").fill("a/b");
  await tid("storage-create-folder").click();
  await tid("storage-pick").click();
  // Buttons inside the picker must not submit the wizard form around it.
  if (await page.getByText("Enter a name.").count()) throw new Error("picker submitted the form");
});
await step("05-wizard-create", async () => {
  await tid("wizard-name").fill("newdet");
  await tid("wizard-dataset-name").fill("newdet_ds");
  await tid("wizard-output-path").fill("s3://exeml/acme/x/out/");
  await tid("wizard-label-name-0").fill("car");
  await tid("wizard-create").click();
  await tid("tab-label").waitFor();
});
const open = async (name, tab) => {
  await page.goto(`${BASE}/exeml`);
  await tid(`project-row-${name}`).getByTestId("project-link").click();
  await tid(`tab-${tab}`).click();
};
await step("06-image-label", async () => {
  await open("flowers", "label");
  await tid("sample-item").first().waitFor();
  await tid("select-page").check();
  await tid("selection-label-input").fill("tulip");
  await tid("selection-label-ok").click();
  await tid("label-row-tulip").waitFor();
});
await step("07-label-delete-dialog", async () => {
  await tid("label-row-tulip").getByTestId("label-delete").click();
  await tid("label-delete-dialog").waitFor();
});
await step("08-upload-dialog", async () => {
  await page.keyboard.press("Escape");
  await tid("add-files").click();
  await tid("upload-input").setInputFiles([{ name: "ok.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(1000) }, { name: "bad name.jpg", mimeType: "image/jpeg", buffer: Buffer.alloc(10) }, { name: "big.png", mimeType: "image/png", buffer: Buffer.alloc(6 * 1024 * 1024) }]);
  await tid("upload-files").waitFor();
});
await step("09-sync", async () => {
  await page.keyboard.press("Escape");
  await tid("sync-button").click();
  await tid("sync-errors-toggle").waitFor({ timeout: 10000 });
  await tid("sync-errors-toggle").click();
});
await step("10-detection-editor", async () => {
  await open("pets_det", "label");
  await tid("tab-labeled").click();
  await tid("sample-item").first().click();
  const canvas = tid("box-canvas");
  await canvas.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="box-canvas"]')?.getAttribute("data-image-width"));
  const b = await canvas.boundingBox();
  await page.mouse.move(b.x + 200, b.y + 150); await page.mouse.down(); await page.mouse.move(b.x + 320, b.y + 260, { steps: 5 }); await page.mouse.up();
  if ((await tid("box-rect").count()) !== 2) throw new Error(`expected 2 boxes, got ${await tid("box-rect").count()}`);
  await page.mouse.move(b.x + 300, b.y + 200); await page.mouse.wheel(0, -300);
  await tid("det-save").click();
  await tid("det-dirty").waitFor({ state: "detached" });
});
await step("11-detection-next-delete", async () => {
  await page.keyboard.press("ArrowRight");
  await page.waitForTimeout(300);
  await tid("box-rect").first().waitFor();
  const b = await tid("box-canvas").boundingBox();
  const g = await tid("box-rect").first().locator("rect").first().boundingBox();
  await page.mouse.click(g.x + g.width / 2, g.y + g.height / 2);
  await page.keyboard.press("Delete");
  if ((await tid("box-rect").count()) !== 0) throw new Error("box not deleted");
  void b;
});
await step("12-sound", async () => {
  await tid("det-back").click();
  await open("birds", "label");
  await tid("sound-current").waitFor();
  const before = await tid("sound-current").getAttribute("data-sample-name");
  await page.keyboard.press("c");
  await page.waitForFunction((b) => document.querySelector('[data-testid="sound-current"]')?.getAttribute("data-sample-name") !== b, before);
});
await step("13-text", async () => {
  await open("news", "label");
  await tid("sample-item").first().getByTestId("label-button-cat").click();
  await tid("text-dirty").waitFor();
  await tid("nav-models").click();
  await tid("unsaved-dialog").waitFor();
  await tid("unsaved-stay").click();
  await tid("text-save-page").click();
  await tid("text-dirty").waitFor({ state: "detached" });
});
await step("14-text-conflict", async () => {
  // The mock makes the sample with index 3 conflict once.
  const item = page.locator(`[data-testid="sample-item"][data-sample-name="line 11"]`);
  await item.getByTestId("label-button-cat").click();
  await tid("text-save-page").click();
  await tid("conflict-dialog").waitFor();
  await shot("14a-conflict");
  await tid("conflict-redo-mine").click();
  await tid("text-dirty").waitFor({ state: "detached" });
});
await step("15-predictive-label", async () => {
  await open("bank", "label");
  await tid("preview-table").waitFor();
  await tid("label-type-select").selectOption("continuous");
  await tid("label-column-select").selectOption("attr_2");
  await tid("label-column-save").click();
  await page.getByRole("alert").waitFor();
});
await step("16-predictive-train", async () => {
  await tid("tab-train").click();
  await tid("threshold-chart").waitFor();
  const box = await page.locator(".chart-svg").boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + 100);
});
await step("17-image-train", async () => {
  await open("flowers", "train");
  await tid("version-row-V001").click();
  await tid("confusion-matrix").waitFor();
  await tid("cm-cell").nth(1).hover();
  await tid("cm-tooltip").waitFor();
});
await step("18-train-dialog", async () => {
  await tid("train-button").click();
  await tid("train-dialog").waitFor();
  await tid("train-flavor").selectOption("gpu.free");
});
await step("19-train-running", async () => {
  await tid("train-free-agree").check();
  await tid("train-submit").click();
  await tid("version-row-V003").waitFor();
  await tid("version-progress").waitFor();
});
await step("20-sound-train-blocked", async () => {
  await open("birds", "train");
  await tid("train-blocked-reasons").waitFor();
});
await step("21-deploy-detection", async () => {
  await open("pets_det", "deploy");
  await tid("test-panel").waitFor();
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="#9cf"/></svg>`;
  await tid("test-upload").setInputFiles({ name: "t.svg", mimeType: "image/svg+xml", buffer: Buffer.from(svg) });
  await tid("test-predict").click();
  await tid("test-box").first().waitFor();
});
await step("22-deploy-predictive", async () => {
  await open("bank", "deploy");
  await tid("test-json").waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="test-json"]')?.value.includes("management"));
  await tid("test-predict").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="test-response"]')?.textContent.includes("predictioncol"));
});
await step("23-deploy-dialog", async () => {
  await tid("deploy-button").click();
  await tid("deploy-auto-stop-hours").selectOption("custom");
  await tid("deploy-auto-stop-custom").fill("30");
});
await step("24-models", async () => { await page.keyboard.press("Escape"); await tid("nav-models").click(); await tid("model-list").waitFor(); });
await step("25-services", async () => { await tid("nav-services").click(); await tid("service-card").first().waitFor(); });
await step("26-usage", async () => { await tid("nav-usage").click(); await tid("quota-list").waitFor(); });
await step("27-datasets", async () => { await tid("nav-datasets").click(); await tid("dataset-list").waitFor(); });
await step("28-delete-project", async () => {
  await tid("nav-exeml").click();
  await tid("project-row-newdet").getByTestId("project-delete").click();
  await tid("confirm-ok").click();
  await tid("project-row-newdet").waitFor({ state: "detached" });
});

await browser.close();
writeFileSync(`${OUT}/problems.txt`, problems.join("\n"));
console.log(problems.length ? `\n${problems.length} problem(s):\n${problems.join("\n")}` : "\nno problems");
process.exit(problems.length ? 1 : 0);
