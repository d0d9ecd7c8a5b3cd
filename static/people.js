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

function identifiedItem(result, who) {
  const byBody = who.by === "body";
  const detail = who.known
    ? `${who.similarity.toFixed(0)}% similar${byBody ? " by body: the face is not seen" : ""}`
    : byBody ? (who.nearest ? `face not seen, and the body matches nobody named in the other ` +
        `stills well enough (nearest: ${who.nearest}, ${who.similarity.toFixed(0)}%)`
        : "face not seen, and nobody was named by face in the other stills")
    : who.nearest ? `nobody in ${result.gallery} is close enough (nearest: ${who.nearest}, ` +
      `${who.similarity.toFixed(0)}%)` : "the gallery is empty";
  return el("li", {class: `lookalike ${who.known ? "known" : "unknown"}${byBody ? " by-body" : ""}`}, [
    who.photo_url ? el("img", {src: who.photo_url, alt: who.name, loading: "lazy"})
      : el("div", {class: "no-photo"}),
    el("div", {class: "who"}, [
      el("span", {class: "name", text: (who.known ? who.name : "unknown") + (byBody ? " (body)" : "")}),
      el("span", {class: "similarity", text: detail}),
    ]),
  ]);
}

function renderIdentify(root, result) {
  for (const note of result.notes) root.append(el("p", {class: "note", text: note}));
  const several = result.stills.length > 1;
  result.stills.forEach((still, i) => {
    const n = i + 1;
    const faces = result.faces.filter((f) => (f.still || 1) === n);
    const bodies = result.bodies.filter((b) => b.still === n);
    const known = faces.filter((f) => f.known).length;
    const parts = [
      el("img", {src: still.drawn_url, alt: `${several ? `Still ${n}` : "Your photo"} with every ` +
                 "face named", class: "photo", id: several ? `drawn-${n}` : "drawn"}),
      el("p", {class: "downloads"}, [download(still.drawn_url, "Download the named photo", true)]),
    ];
    if (faces.length || bodies.length) {
      const counted = faces.length ? `${faces.length} face${faces.length === 1 ? "" : "s"}, ` +
        `left to right: ${known} known, ${faces.length - known} unknown` : "no face found";
      parts.push(el("h2", {text: `${several ? `Still ${n}: ` : ""}${counted}` +
        (bodies.length ? `; ${bodies.length} ${bodies.length === 1 ? "person" : "people"} ` +
        "without a face" : "")}));
      parts.push(el("ol", {class: "identified"},
        [...faces, ...bodies].map((who) => identifiedItem(result, who))));
    }
    root.append(el("section", {class: "card"}, parts));
  });
}

function renderScreentime(root, result) {
  root.append(el("p", {class: "summary", text: `${result.frames_sampled} frames looked at. ` +
    `${result.bodies ? "People not in" : "Faces of nobody in"} ${result.gallery} ` +
    `were on screen for ${seconds(result.unknown_seconds)}.`}));
  if (!result.people.length) {
    root.append(el("p", {class: "note", text: `Nobody from ${result.gallery} was seen.`}));
  } else {
    const columns = ["Person", "On screen", "Share", "Appearances"];
    if (result.bodies) columns.splice(2, 0, "By body alone");
    const head = el("tr", {}, columns.map((t) => el("th", {text: t})));
    const rows = result.people.map((p) => el("tr", {}, [
      el("th", {text: p.name}),
      el("td", {class: "num", text: seconds(p.seconds)}),
      ...(result.bodies ? [el("td", {class: "num body-seconds", text: seconds(p.body_seconds),
        title: "Seconds when only their body was seen (face turned away or hidden)"})] : []),
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
