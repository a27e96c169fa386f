// Team labeling in the console against a live ExeML: the owner adds a labeler and a reviewer
// (through the API), gives the labeler a small task of demo-images on the Tasks page; the
// labeler opens it from "My tasks", labels it with the number keys and submits it; the
// reviewer rejects one image with a comment and accepts the rest; the labeler sees the
// comment, relabels that image, reads its history (labels, rejection, relabel) and submits
// again; the reviewer accepts it; the owner sees the team's activity and agreement and trains
// the project. Started by tests/e2e/test_console_e2e.py.
import assert from "node:assert/strict";
import { after } from "node:test";
import { allSamples, api, cfg, closeBrowser, flow, login, openProject, projectByName, seconds, shot, startTraining, tid, waitUntil } from "./lib.mjs";

after(closeBrowser);

const PROJECT = "demo-images";
const TASK_SIZE = 4;
const suffix = Date.now().toString(36).slice(-5);
// Passwords unlike the usernames (Django's similarity validator refuses those).
const secret = () => `Qx7-${Math.random().toString(36).slice(2, 10)}-Tulip!`;
const labeler = { username: `e2e-lara-${suffix}`, password: secret(), role: "labeler" };
const reviewer = { username: `e2e-rita-${suffix}`, password: secret(), role: "reviewer" };
const COMMENT = "Look again: this is not the shape you chose";

// Filled in as the flows go (node:test runs them in order).
const state = { project: null, ds: null, taskId: null, rejectedId: null };

/** A later flow needs what an earlier one made: fail at once, not after every wait. */
function needs(...keys) {
  for (const k of keys) assert.ok(state[k], `an earlier flow failed (no ${k})`);
}

async function loginAs(page, user) {
  await page.goto(`${cfg.base}/exeml`);
  await tid(page, "login-form").waitFor();
  await tid(page, "login-username").fill(user.username);
  await tid(page, "login-password").fill(user.password);
  await tid(page, "login-submit").click();
  await waitUntil(async () => (await tid(page, "header-user").textContent().catch(() => "")) === user.username, { message: `${user.username} signed in` });
  assert.equal(await tid(page, "header-role").textContent(), user.role);
}

async function openTasks(page) {
  await tid(page, "nav-tasks").click();
  await page.waitForURL(/\/tasks/);
  await tid(page, "tasks-dataset").selectOption(state.ds);
}

const taskRow = (page) => page.locator(`[data-task-id="${state.taskId}"]`);

async function taskOnServer() {
  return api(`/api/v1/datasets/${state.ds}/tasks/${state.taskId}`);
}

/** Frees labelled samples no task holds until there are enough unlabelled ones for the task
 *  (a server the other suites used may have labelled the demo's unlabelled images). */
async function ensureUnlabelled(ds, n) {
  const free = (await allSamples(ds, "&labeled=false")).filter((s) => !s.task && s.status === "ok");
  if (free.length >= n) return;
  const labelled = (await allSamples(ds, "&labeled=true")).filter((s) => !s.task && s.status === "ok").slice(0, n - free.length);
  for (const s of labelled) {
    await api(`/api/v1/datasets/${ds}/annotations/batch`, { method: "POST", body: { sample_ids: [s.id], add: [], remove: s.labels } });
  }
}

flow("team: the owner adds a labeler and a reviewer and gives the labeler a task", async (page) => {
  state.project = await projectByName(PROJECT);
  state.ds = state.project.dataset.id;
  for (const u of [labeler, reviewer]) {
    const m = await api("/api/v1/members", { method: "POST", body: { username: u.username, role: u.role, password: u.password } });
    assert.equal(m.role, u.role);
  }
  await ensureUnlabelled(state.ds, TASK_SIZE);

  await login(page);
  await tid(page, "nav-team").click();
  await tid(page, `member-row-${labeler.username}`).waitFor();
  assert.equal(await tid(page, `member-row-${reviewer.username}`).getAttribute("data-role"), "reviewer");
  await shot(page, "team-members");

  await openTasks(page);
  await tid(page, "task-create-form").waitFor();
  // A reviewer cannot label: only roles that label are offered as assignees.
  await tid(page, `task-assignee-${labeler.username}`).check();
  assert.equal(await tid(page, `task-assignee-${reviewer.username}`).count(), 0, "a reviewer is no assignee");
  // An overlap for agreement needs a second labeler: with one assignee the field is off.
  assert.equal(await tid(page, "task-overlap").isDisabled(), true, "no overlap with one assignee");
  await tid(page, "task-per-task").fill(String(TASK_SIZE));
  await tid(page, "task-max-samples").fill(String(TASK_SIZE));
  await tid(page, "task-create").click();
  await tid(page, "task-created").waitFor();
  const row = page.locator(`[data-testid^="task-row-"][data-assignee="${labeler.username}"]`);
  await row.first().waitFor();
  state.taskId = await row.first().getAttribute("data-task-id");
  assert.equal(await row.first().getAttribute("data-status"), "open");
  const task = await taskOnServer();
  assert.equal(task.size, TASK_SIZE);
  assert.equal(task.assignee, labeler.username);
  await shot(page, "team-task-created");
});

flow("team: the labeler labels the task with the keyboard and submits it", async (page) => {
  needs("taskId");
  await loginAs(page, labeler);
  // Labelers hold no API tokens and change no projects.
  assert.equal(await tid(page, "nav-tokens").count(), 0, "no API tokens link for a labeler");
  await openTasks(page);
  assert.equal(await tid(page, "tasks-mine").isChecked(), true, "My tasks is on for a labeler");
  await taskRow(page).waitFor();
  // Submitting before labelling is refused with the server's reason.
  await taskRow(page).getByTestId("task-submit").click();
  await waitUntil(async () => /not labelled/.test((await taskRow(page).getByRole("alert").textContent().catch(() => "")) ?? ""), { message: "the refusal's reason" });
  await taskRow(page).getByTestId("task-open").click();
  await page.waitForURL(new RegExp(`/label\\?task=${state.taskId}`));
  await tid(page, "task-banner").waitFor();
  assert.match(await tid(page, "task-banner-progress").textContent(), new RegExp(`0/${TASK_SIZE} labelled`));
  await tid(page, "sample-item").first().waitFor();
  assert.equal(await tid(page, "sample-item").count(), TASK_SIZE, "only the task's samples are listed");
  assert.equal(await tid(page, "add-files").count(), 0, "a labeler adds no files");

  // Number key 1 labels the highlighted image, which then leaves the Unlabeled list.
  await page.locator("body").click({ position: { x: 5, y: 5 } });
  for (let left = TASK_SIZE; left > 0; left--) {
    const id = await tid(page, "sample-item").first().getAttribute("data-sample-id");
    await page.keyboard.press("1");
    await waitUntil(async () => (await api(`/api/v1/datasets/${state.ds}/samples/${id}`)).labeled, { message: `key 1 labelled ${id}` });
    await waitUntil(async () => (await tid(page, "sample-item").count()) === left - 1
      && (left === 1 || (await tid(page, "sample-item").first().getAttribute("data-sample-id")) !== id), { message: "the labelled image left the list" });
  }
  await waitUntil(async () => new RegExp(`${TASK_SIZE}/${TASK_SIZE} labelled`).test(await tid(page, "task-banner-progress").textContent()), { message: "the banner's progress" });
  await shot(page, "team-labeler-labelled");
  await tid(page, "task-banner-submit").click();
  await page.locator('[data-testid="task-banner"][data-status="in_review"]').waitFor();
  assert.equal((await taskOnServer()).status, "in_review");
});

flow("team: the reviewer rejects one image with a comment and accepts the rest", async (page) => {
  needs("taskId");
  await loginAs(page, reviewer);
  await openTasks(page);
  await taskRow(page).getByTestId("task-review").click();
  await tid(page, "review-panel").waitFor();
  await waitUntil(async () => (await tid(page, "review-item").count()) === TASK_SIZE, { message: "the task's samples to review" });
  await waitUntil(async () => (await tid(page, "review-labelled-by").first().textContent()).includes(labeler.username), { message: "who labelled it" });
  const first = tid(page, "review-item").first();
  state.rejectedId = await first.getAttribute("data-sample-id");
  await first.getByTestId("review-reject").click();
  // A rejection without a comment is not sent.
  await tid(page, "review-send").click();
  await page.getByText("A rejection needs a comment").waitFor();
  await first.getByTestId("review-comment").fill(COMMENT);
  await tid(page, "review-accept-rest").click();
  assert.equal(await first.getAttribute("data-decision"), "reject", "Accept all undecided keeps the rejection");
  await shot(page, "team-review");
  await tid(page, "review-send").click();
  await tid(page, "review-panel").waitFor({ state: "detached" });
  await waitUntil(async () => (await taskRow(page).getAttribute("data-status")) === "open", { message: "the task back with its labeler" });
  const task = await taskOnServer();
  assert.equal(task.status, "open");
  assert.equal(task.returned, 1);
});

flow("team: the labeler sees the comment, relabels the image and submits again", async (page) => {
  needs("taskId", "rejectedId");
  await loginAs(page, labeler);
  await openTasks(page);
  await taskRow(page).getByTestId("task-open").click();
  await tid(page, "task-rejected").waitFor();
  const item = page.locator(`[data-testid="task-rejected-item"][data-sample-id="${state.rejectedId}"]`);
  assert.equal(await item.getByTestId("task-rejected-comment").textContent(), COMMENT);
  // On the Labeled tab of the task the rejected image carries the comment too.
  await tid(page, "tab-labeled").click();
  const card = page.locator(`[data-testid="sample-item"][data-sample-id="${state.rejectedId}"]`);
  await card.waitFor();
  assert.equal(await card.getByTestId("sample-rejected").textContent(), `✗ ${COMMENT}`);
  await shot(page, "team-labeler-rejected");
  const before = (await api(`/api/v1/datasets/${state.ds}/samples/${state.rejectedId}`)).labels;
  await card.click(); // selects it: the number key labels the selection
  await page.keyboard.press("2");
  await waitUntil(async () => {
    const s = await api(`/api/v1/datasets/${state.ds}/samples/${state.rejectedId}`);
    return s.labels.length === 1 && s.labels[0] !== before[0] && s.review.status === "";
  }, { message: "key 2 relabelled the rejected image (its review voided)" });
  await tid(page, "task-rejected").waitFor({ state: "detached" });
  // The image's history: the labeler's labels, the reviewer's rejection with its comment, the relabel.
  await card.getByTestId("sample-zoom").click();
  const preview = tid(page, "sample-preview");
  await preview.getByTestId("history-button").click();
  const events = preview.getByTestId("history-event");
  await waitUntil(async () => (await events.count()) >= 3, { message: "the image's history" });
  const mine = preview.locator(`[data-testid="history-event"][data-username="${labeler.username}"]`);
  assert.ok((await mine.count()) >= 2, "the labeler's label and relabel are listed");
  assert.match(await mine.last().getByTestId("history-change").textContent(), /→/);
  const reject = preview.locator(`[data-testid="history-event"][data-action="reject"][data-username="${reviewer.username}"]`);
  assert.equal(await reject.count(), 1, "the reviewer's rejection is listed");
  assert.equal(await reject.getByTestId("history-comment").textContent(), `“${COMMENT}”`);
  await shot(page, "team-history");
  await page.keyboard.press("Escape");
  await preview.waitFor({ state: "detached" });
  await tid(page, "task-banner-submit").click();
  await page.locator('[data-testid="task-banner"][data-status="in_review"]').waitFor();
});

flow("team: the reviewer accepts the relabelled image; the task is done", async (page) => {
  needs("taskId", "rejectedId");
  await loginAs(page, reviewer);
  await openTasks(page);
  await taskRow(page).getByTestId("task-review").click();
  await tid(page, "review-panel").waitFor();
  await waitUntil(async () => (await tid(page, "review-item").count()) === TASK_SIZE, { message: "the task's samples" });
  assert.equal(await page.locator('[data-testid="review-item"][data-review="accepted"]').count(), TASK_SIZE - 1, "the others stay accepted");
  await page.locator(`[data-testid="review-item"][data-sample-id="${state.rejectedId}"]`).getByTestId("review-accept").click();
  await tid(page, "review-send").click();
  await tid(page, "review-panel").waitFor({ state: "detached" });
  await waitUntil(async () => (await taskRow(page).getAttribute("data-status")) === "done", { message: "the task done" });
  await shot(page, "team-task-done");
  const task = await taskOnServer();
  assert.equal(task.status, "done");
  assert.equal(task.progress.accepted, TASK_SIZE);
});

flow("team: the owner sees the activity and trains the project", async (page) => {
  needs("taskId");
  await login(page);
  await tid(page, "nav-team").click();
  await tid(page, "activity-dataset").selectOption(state.ds);
  const row = tid(page, `activity-row-${labeler.username}`);
  await row.waitFor();
  // Agreement: this run made no overlap (the empty state, unless another run did); the labeler
  // is compared with the reviewed result.
  await tid(page, "agreement").waitFor();
  await waitUntil(async () => (await tid(page, "agreement-empty").count()) + (await tid(page, "agreement-between").count()) > 0, { message: "the agreement figures" });
  await tid(page, `agreement-reviewed-${labeler.username}`).waitFor();
  await shot(page, "team-agreement");
  await openProject(page, PROJECT, "label");
  const version = await startTraining(page);
  assert.ok(version, "a version started");
  // The training starts on the worker (its row leaves "queued"); it is then stopped: that the
  // trainer trains is the other suites' business, and a 3-minute wait here would buy nothing.
  const versionRow = tid(page, `version-row-${version}`);
  await waitUntil(async () => ["running", "completed"].includes(await versionRow.getAttribute("data-status")), {
    timeout: seconds(120), interval: 1000, message: `version ${version} to run`,
  });
  await shot(page, "team-training");
  await api(`/api/v1/projects/${state.project.id}/versions/${version}/stop`, { method: "POST" }).catch(() => null);
  await waitUntil(async () => ["stopped", "completed", "failed"].includes(await versionRow.getAttribute("data-status")), {
    timeout: seconds(120), interval: 1000, message: `version ${version} to stop`,
  });
}, { timeout: seconds(300) });
