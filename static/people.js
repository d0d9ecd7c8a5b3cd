// Lookalike's own-people pages (an ES module): gallery forms, and the enrolment, identify and
// screen-time result pages, drawn once the shared progress component (job.js) has the finished job.
import {checkSizes, el, trackJob} from "./job.js";

function setupPeopleForm(form) {
  const chosen = () => [...form.querySelectorAll("input[type=file]")].flatMap((i) => [...i.files]);
  for (const input of form.querySelectorAll("input[data-preview]")) {
    const preview = document.querySelector(input.dataset.preview);
    input.addEventListener("change", () => {
      if (!input.files[0]) return;
      preview.src = URL.createObjectURL(input.files[0]);
      preview.hidden = false;
    });
  }
  form.addEventListener("submit", (event) => {
    if (!checkSizes(form, chosen())) {
      event.preventDefault();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "Working…";
  });
}

function setupConfirm(form) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// -- result pages ------------------------------------------------------------------------

function seconds(value) {
  return `${value.toFixed(1)} s`;
}

function download(url, text, primary) {
  return el("a", {class: primary ? "button" : "button secondary", href: `${url}?download=1`,
                  download: "", text});
}

function renderIdentify(root, result) {
  for (const note of result.notes) root.append(el("p", {class: "note", text: note}));
  const unknown = result.faces.length - result.known;
  root.append(el("section", {class: "card"}, [
    el("img", {src: result.drawn_url, alt: "Your photo with every face named", class: "photo",
               id: "drawn"}),
    el("p", {class: "downloads"}, [download(result.drawn_url, "Download the named photo", true)]),
  ]));
  if (!result.faces.length) return;
  root.append(el("h2", {text: `${result.faces.length} face${result.faces.length === 1 ? "" : "s"}`
    + `, left to right: ${result.known} known, ${unknown} unknown`}));
  const list = el("ol", {class: "identified"});
  for (const face of result.faces) {
    const detail = face.known ? `${face.similarity.toFixed(0)}% similar`
      : face.nearest ? `nobody in ${result.gallery} is close enough (nearest: ${face.nearest}, ` +
        `${face.similarity.toFixed(0)}%)` : "the gallery is empty";
    list.append(el("li", {class: face.known ? "lookalike known" : "lookalike unknown"}, [
      face.photo_url ? el("img", {src: face.photo_url, alt: face.name, loading: "lazy"})
        : el("div", {class: "no-photo"}),
      el("div", {class: "who"}, [
        el("span", {class: "name", text: face.known ? face.name : "unknown"}),
        el("span", {class: "similarity", text: detail}),
      ]),
    ]));
  }
  root.append(el("section", {class: "card"}, [list]));
}

function renderScreentime(root, result) {
  root.append(el("p", {class: "summary", text: `${result.frames_sampled} frames looked at. ` +
    `Faces of nobody in ${result.gallery} were on screen for ${seconds(result.unknown_seconds)}.`}));
  if (!result.people.length) {
    root.append(el("p", {class: "note", text: `Nobody from ${result.gallery} was seen.`}));
  } else {
    const head = el("tr", {}, ["Person", "On screen", "Share", "Appearances"].map(
      (t) => el("th", {text: t})));
    const rows = result.people.map((p) => el("tr", {}, [
      el("th", {text: p.name}),
      el("td", {class: "num", text: seconds(p.seconds)}),
      el("td", {class: "num", text: `${Math.round((100 * p.seconds) / result.duration)}%`}),
      el("td", {class: "spans", text: p.appearances.map(([a, b]) =>
        `${a.toFixed(1)}–${b.toFixed(1)} s`).join(", ")}),
    ]));
    root.append(el("section", {class: "card"}, [
      el("h2", {text: "Who is on screen"}),
      el("div", {class: "table-scroll"}, [el("table", {class: "screen-table"}, [head, ...rows])]),
    ]));
  }
  root.append(el("section", {class: "card"}, [
    el("h2", {text: "Timeline"}),
    el("div", {class: "chart-scroll"}, [
      el("img", {src: result.timeline_url, alt: "Timeline: when each person is on screen",
                 class: "chart", id: "timeline"})]),
  ]));
  root.append(el("section", {class: "card"}, [
    el("h2", {text: "Contact sheet"}),
    el("a", {href: result.sheet_url, target: "_blank", title: "Open full size"}, [
      el("img", {src: result.sheet_url, alt: "Frames from the video with faces named",
                 class: "chart", id: "contact-sheet"})]),
  ]));
  root.append(el("p", {class: "downloads"}, [
    "Download: ", download(result.csv_url, "CSV", true), " ",
    download(result.timeline_url, "Timeline PNG"), " ",
    download(result.sheet_url, "Contact sheet JPEG"),
  ]));
}

function renderEnrol(root, result) {
  root.append(el("p", {class: "summary", id: "enrolled", text: result.message}));
  if (!result.after) return;  // the gallery was deleted since
  root.append(el("p", {class: "actions"}, [
    el("a", {class: "button", href: result.after.page_url, text: `Open ${result.after.name}`})]));
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.people-form-upload")) setupPeopleForm(form);
  for (const form of document.querySelectorAll("form[data-confirm]")) setupConfirm(form);
  const job = document.getElementById("job");
  if (job && ["enrol", "identify", "screentime"].includes(job.dataset.kind)) {
    trackJob(job, (results, status) => {
      if (status.kind === "screentime") renderScreentime(results, status.result);
      else if (status.kind === "enrol") renderEnrol(results, status.result);
      else renderIdentify(results, status.result);
    });
  }
});
