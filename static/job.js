// What every page shares (an ES module): building DOM without innerHTML, the upload size check,
// and the one job-progress component, which polls a job's JSON status and shows its stages
// (their names come from the server: the job kind's registered stages), a bar, errors, and
// hands the finished job to the page's renderer.

export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children || []) if (child) node.append(child);
  return node;
}

export function pct(value) {
  return `${Math.round(value)}%`;
}

export function checkSizes(form, files) {
  const limit = Number(form.dataset.maxBytes);
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const error = form.querySelector("#client-error");
  if (total > limit) {
    error.textContent = `That is ${(total / 1048576).toFixed(1)} MB; the limit is ` +
      `${Math.round(limit / 1048576)} MB.`;
    error.hidden = false;
    return false;
  }
  error.hidden = true;
  return true;
}

// How people read a stage's name: the job kind's own words (its registered stage_text, in
// #progress's data-stage-text); a stage not named there shows its own name.
function stageWords(section) {
  const own = JSON.parse(section.querySelector("#progress").dataset.stageText || "{}");
  return {starting: "Starting", ...own};
}

function stageText(status, words) {
  if (status.detail) return `${status.detail}…`;  // e.g. the gallery build's progress
  const text = words[status.stage] || status.stage;
  if (status.steps > status.stages.length) {  // a stage that counts items: step - 1 are done
    return `${text}: ${Math.min(status.step - 1, status.steps)} of ${status.steps}`;
  }
  return `${text}…`;
}

// "about 9 minutes left"
export function timeLeft(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 90) return "about a minute left";
  return `about ${Math.round(seconds / 60)} minutes left`;
}

// The banner of a gallery still being prepared: polls its build status until it is ready.
export function trackGalleryBuild(banner) {
  const tick = async () => {
    let status;
    try {
      status = await (await fetch(banner.dataset.url)).json();
    } catch (err) {
      setTimeout(tick, 5000);
      return;
    }
    if (status.state === "ready") {
      banner.hidden = true;
      return;
    }
    const count = status.total ? `: ${status.done.toLocaleString("en")} of ` +
      `${status.total.toLocaleString("en")} photos` : "";
    const left = timeLeft(status.eta_seconds);
    const parts = [`Preparing the celebrity gallery${count}${left ? `, ${left}` : ""}.`];
    if (status.partial) parts.push("Lookalikes already come from the film and TV actors ready so far.");
    else parts.push("A photo uploaded now is kept and analysed as soon as the first part is ready.");
    if (status.state === "failed") parts.splice(0, 1, `Preparing the gallery stopped (${status.error}); it resumes within minutes.`);
    banner.textContent = parts.join(" ");
    banner.hidden = false;
    setTimeout(tick, 3000);
  };
  tick();
}

// Polls a job's status URL until it is done or failed; a request that hangs or fails, or a
// progress update that throws, never stops the polling.
export function pollJob(url, {done, failed, progress}) {
  let delay = 400;
  const tick = async () => {
    let status;
    try {
      const response = await fetch(url, {headers: {Accept: "application/json"},
                                         signal: AbortSignal.timeout(15000)});
      if (response.status === 404) {
        failed("This job no longer exists: it was deleted or it expired.");
        return;
      }
      status = await response.json();
    } catch (err) {
      setTimeout(tick, 2000);
      return;
    }
    if (status.status === "done") done(status);
    else if (status.status === "failed") failed(status.error || "The job failed.");
    else {
      delay = Math.min(delay * 1.2, 1500);
      setTimeout(tick, delay);
      try {
        progress(status);
      } catch (err) {
        // a progress display that cannot be drawn must not end the wait for the result
      }
    }
  };
  tick();
}

// The job-progress component: `section` holds #stage, #bar, #stages (optional), #progress,
// #job-error and #results (templates/_job_status.html); `render(results, status)` draws the
// finished job.
export function trackJob(section, render) {
  const list = section.querySelector("#stages");
  const words = stageWords(section);
  const show = (status) => {
    const label = section.querySelector("#stage");
    section.querySelector("#bar").value = status.progress || 0;
    if (list && !list.children.length && status.stages.length > 1) {
      for (const stage of status.stages) {
        list.append(el("li", {"data-stage": stage, text: words[stage] || stage}));
      }
    }
    if (status.status === "queued") label.textContent = section.dataset.waiting;
    else if (status.status === "running") {
      label.textContent = stageText(status, words);
      const current = status.stages.indexOf(status.stage);
      list?.querySelectorAll("li").forEach((li, n) => {
        li.className = n < current ? "done" : n === current ? "current" : "";
      });
    }
  };
  const fail = (message) => {
    section.querySelector("#progress").hidden = true;
    const error = section.querySelector("#job-error");
    error.textContent = message;
    error.hidden = false;
  };
  pollJob(section.dataset.statusUrl, {
    done(status) {
      section.querySelector("#progress").hidden = true;
      const results = section.querySelector("#results");
      results.hidden = false;
      render(results, status);
    },
    failed: fail,
    progress: show,
  });
}
