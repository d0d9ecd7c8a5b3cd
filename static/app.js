// Lookalike's pages (an ES module): the upload and family forms, and the lookalike and family
// result pages, drawn from the job's JSON once the shared progress component (job.js) has it. Plain DOM (textContent, never innerHTML with data), so the CSP needs no inline script.
import {checkSizes, el, pct, trackGalleryBuild, trackJob} from "./job.js";

// -- upload forms --------------------------------------------------------------------------

function setupUpload(form) {
  // One photo, or up to data-max-files photos of one person (picked together, dropped, or
  // taken one selfie after another): the worker combines them into one answer.
  const input = form.querySelector("#image");
  const camera = form.querySelector("input[name=camera]");
  const drop = form.querySelector("#drop");
  const previews = form.querySelector("#previews");
  const count = form.querySelector("#photo-count");
  const max = Number(input.dataset.maxFiles || 1);
  let shots = [];  // selfies taken so far (the camera input holds one file at a time)
  const chosen = () => [...input.files, ...shots];
  const show = () => {
    const files = chosen();
    previews.replaceChildren(...files.map((file) =>
      el("img", {src: URL.createObjectURL(file), alt: file.name, class: "preview"})));
    drop.classList.toggle("has-file", files.length > 0);
    drop.querySelector(".drop-text").textContent = files.length ?
      `${files.length === 1 ? files[0].name : `${files.length} photos`}: drop or choose again` :
      "Drop a photo here, or choose files";
    count.textContent = files.length > 1 ?
      `${files.length} photos of one person: one combined answer.` : "";
  };
  const keep = (list) => {
    const data = new DataTransfer();
    for (const file of list) data.items.add(file);
    input.files = data.files;
  };
  input.addEventListener("change", () => { shots = []; show(); });
  camera.addEventListener("change", () => {
    if (camera.files[0]) shots = [...shots, camera.files[0]].slice(-max);
    camera.value = "";
    show();
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("dragging");
    });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, () => drop.classList.remove("dragging"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    if (!event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    shots = [];
    show();
  });
  form.addEventListener("submit", (event) => {
    const files = chosen();
    const error = form.querySelector("#client-error");
    error.hidden = true;
    if (!files.length) {
      event.preventDefault();
      error.textContent = "Choose a photo first.";
      error.hidden = false;
      return;
    }
    if (files.length > max) {
      event.preventDefault();
      error.textContent = `Choose at most ${max} photos, all of one person.`;
      error.hidden = false;
      return;
    }
    if (!checkSizes(form, files)) {
      event.preventDefault();
      return;
    }
    keep(files);  // the selfies taken travel in the one file field
    form.querySelector("button[type=submit]").disabled = true;
  });
}

function setupFamily(form) {
  const list = form.querySelector("#people");
  form.querySelector("#add-person").addEventListener("click", () => {
    const rows = list.querySelectorAll(".person-row");
    if (rows.length >= 6) return;
    const row = rows[rows.length - 1].cloneNode(true);
    const name = row.querySelector("input[type=text]");
    name.value = `relative ${rows.length - 2}`;
    row.querySelector("input[type=file]").value = "";
    list.append(row);
  });
  form.addEventListener("submit", (event) => {
    const files = [...form.querySelectorAll("input[type=file]")].flatMap((i) => [...i.files]);
    const error = form.querySelector("#client-error");
    if (files.length < 2) {
      event.preventDefault();
      error.textContent = "Choose at least two photos.";
      error.hidden = false;
      return;
    }
    if (!checkSizes(form, files)) event.preventDefault();
    else form.querySelector("button[type=submit]").disabled = true;
  });
}

// -- results page --------------------------------------------------------------------------

function renderAnalysis(root, result, options) {
  for (const note of result.notes) root.append(el("p", {class: "note", text: note}));
  // The photo with numbered boxes, positioned in % of the photo so they scale with it.
  const frame = el("div", {class: "photo-frame"}, [
    el("img", {src: result.photo_url, alt: "Your photo", class: "photo"}),
  ]);
  result.faces.forEach((face, n) => {
    const [x1, y1, x2, y2] = face.box;
    const box = el("div", {class: "face-box"}, [el("span", {text: String(n + 1)})]);
    box.style.left = `${(100 * x1) / result.width}%`;
    box.style.top = `${(100 * y1) / result.height}%`;
    box.style.width = `${(100 * (x2 - x1)) / result.width}%`;
    box.style.height = `${(100 * (y2 - y1)) / result.height}%`;
    frame.append(box);
  });
  root.append(el("div", {class: "card"}, [frame]));

  if (result.faces.length) {
    const toggle = el("input", {type: "checkbox", id: "actors-only",
                                  checked: options.actors_only});
    root.append(el("label", {class: "toggle"}, [toggle, " Film and TV actors only"]));
    const faces = el("div", {class: "faces"});
    root.append(faces);
    const draw = () => {
      faces.replaceChildren(...result.faces.map((face, n) => faceCard(face, n, toggle.checked)));
    };
    toggle.addEventListener("change", draw);
    draw();
    root.append(el("p", {class: "note caveat", text: SIMILARITY_CAVEAT}));
  }
  root.append(portraitCard(result, options.blur));
}

// Measured by bench/fairness.py (docs/fairness.md): where the % reads higher than it should.
const SIMILARITY_CAVEAT = "About the %: it is calibrated on LFW news photos, mostly of white " +
  "adults, and reads high for some groups. On the South Asian film actors in our data (small " +
  "64 px photos) a stranger's best match is 60% similar on median against 50% on LFW, and two " +
  "different people pass for one 6.9% of the time against 0.3%; on a small hand-labelled " +
  "sample of celebrities, 9.6% of the time among darker-skinned people against 0.5% among " +
  "lighter-skinned ones, and 1.2% among women against 0.6% among men. It was not measured " +
  "for children.";

function faceCard(face, n, actorsOnly) {
  const matches = actorsOnly ? face.actor_lookalikes : face.lookalikes;
  const noMatch = actorsOnly ? face.actor_no_close_match : face.no_close_match;
  const card = el("article", {class: "card face"}, [el("h2", {text: `Face ${n + 1}`})]);
  const mood = face.emotion;
  const bars = Object.entries(mood.probabilities).sort((a, b) => b[1] - a[1]).map(([k, p]) =>
    el("div", {class: "bar-row"}, [
      el("span", {class: "bar-label", text: k}),
      el("progress", {max: "1", value: String(p), "aria-label": k}),
      el("span", {class: "bar-value", text: pct(100 * p)}),
    ]));
  card.append(el("div", {class: "emotion"}, [
    el("p", {}, ["Looks ", el("strong", {class: "emotion-label", text: mood.label})]),
    ...bars,
  ]));
  if (noMatch) {
    card.append(el("p", {class: "note", text: "No close match: nobody in the gallery looks " +
      "much like this face. The nearest are below, for fun."}));
  }
  if (!matches.length) card.append(el("p", {class: "note", text: "Nobody to show."}));
  const firm = actorsOnly ? face.actor_firmness : face.firmness;
  if (firm && matches.length) {
    card.append(el("p", {class: `firmness ${firm.level}`, text: firm.text}));
  }
  const list = el("ol", {class: "lookalikes"});
  for (const m of matches) {
    list.append(el("li", {class: "lookalike"}, [
      m.photo_url ? el("img", {src: m.photo_url, alt: m.name, loading: "lazy"})
        : el("div", {class: "no-photo"}),
      el("div", {class: "who"}, [
        el("span", {class: "name", text: m.name}),
        el("span", {class: "similarity", text: `${m.similarity.toFixed(0)}% similar`}),
        m.actor ? el("span", {class: "badge", text: "actor"}) : null,
      ]),
    ]));
  }
  card.append(list);
  if (face.share_card_url) {
    card.append(el("a", {class: "button secondary", href: `${face.share_card_url}?download=1`,
                         download: "", text: "Download share card"}));
  }
  return card;
}

function portraitCard(result, blur) {
  const card = el("section", {class: "card portrait"}, [el("h2", {text: "Portrait mode"})]);
  if (!result.portrait_url) {
    card.append(el("p", {class: "note", text: result.portrait_error ||
      "Portrait mode is not available for this photo."}));
    return card;
  }
  const img = el("img", {src: result.portrait_url, alt: "Portrait with blurred background",
                         class: "photo"});
  const slider = el("input", {type: "range", min: "0", max: "40", id: "blur",
                              value: String(blur)});
  const value = el("output", {for: "blur"});
  const jpeg = el("a", {class: "button", download: "", text: "JPEG"});
  const png = el("a", {class: "button secondary", download: "", text: "PNG"});
  const cutout = el("a", {class: "button secondary", href: `${result.cutout_url}?download=1`,
                          download: "", text: "Cut-out PNG"});
  let timer = null;
  const update = (reload) => {
    value.textContent = slider.value;
    const base = `${result.reblur_url}?strength=${slider.value}`;
    jpeg.href = `${base}&format=jpeg&download=1`;
    png.href = `${base}&format=png&download=1`;
    if (reload) {
      clearTimeout(timer);
      timer = setTimeout(() => { img.src = `${base}&format=jpeg`; }, 150);
    }
  };
  slider.addEventListener("input", () => update(true));
  card.append(img, el("label", {class: "slider"}, ["Blur ", slider, " ", value]),
              el("p", {class: "downloads"}, ["Download: ", jpeg, " ", png, " ", cutout]));
  update(false);
  return card;
}

function renderFamily(root, result) {
  if (result.error) {
    root.append(el("p", {class: "error", text: result.error}));
    return;
  }
  if (result.missing.length) {
    root.append(el("p", {class: "note", text: `No face found for: ${result.missing.join(", ")}` +
      " (left out)."}));
  }
  root.append(el("p", {class: "verdict", text: result.verdict}));
  root.append(el("div", {class: "people"}, result.people.map((p) =>
    el("figure", {}, [el("img", {src: p.photo_url, alt: p.name}),
                      el("figcaption", {text: p.name})]))));

  const names = result.names;
  const child = names[0];
  const others = names.slice(1);
  const kin = result.kinship;
  const regions = ["eyes", "nose", "mouth"].filter((r) => r in result.regions)
    .map((r) => [r, result.regions[r]]);

  // The child beside each relative: kinship first, then whole-face and region likeness.
  const kinRow = el("tr", {class: "kinship-row"}, [
    el("th", {text: "kinship"}),
    ...others.map((n) => el("td", {class: n === kin.most_like ? "best" : "",
                                   text: pct(100 * kin.scores[n])})),
  ]);
  const faceRow = el("tr", {}, [el("th", {text: "whole face"}),
    ...others.map((n, j) => el("td", {text: pct(result.matrix[0][j + 1])}))]);
  const regionRows = regions.map(([region, r]) => el("tr", {}, [
    el("th", {text: region}),
    ...others.map((n) => el("td", {class: n === r.most_like ? "best" : "",
                                   text: pct(r.scores[n])})),
  ]));
  root.append(el("section", {class: "card kinship"}, [
    el("h2", {text: `${child} and each relative`}),
    el("div", {class: "table-scroll"}, [el("table", {class: "matrix"}, [
      el("tr", {}, [el("th"), ...others.map((n) => el("th", {text: n}))]),
      kinRow, faceRow, ...regionRows])]),
    el("p", {class: "kinship-about", text: kin.about}),
    el("p", {class: "hint", text: "Likeness (whole face, eyes, nose, mouth): about 75% is " +
      "typical of two photos of one person, about 25% of two strangers; relatives usually " +
      "sit in between. " + regions.map(([region, r]) =>
      `${region}: most like ${r.most_like}`).join(" · ")}),
  ]));

  // Every pair: likeness and kinship.
  const head = el("tr", {}, [el("th"), ...names.map((n) => el("th", {text: n}))]);
  const rows = result.matrix.map((row, i) => el("tr", {}, [
    el("th", {text: names[i]}),
    ...row.map((v, j) => el("td", {class: i === j ? "self" : "",
      text: i === j ? "–" : `${pct(v)} · kin ${pct(100 * kin.matrix[i][j])}`})),
  ]));
  root.append(el("section", {class: "card"}, [
    el("h2", {text: "Every pair: face likeness · kinship"}),
    el("div", {class: "table-scroll"}, [el("table", {class: "matrix"}, [head, ...rows])]),
  ]));
  root.append(el("p", {class: "note", text: result.note}));
}

document.addEventListener("DOMContentLoaded", () => {
  const upload = document.getElementById("upload-form");
  if (upload) setupUpload(upload);
  const build = document.getElementById("gallery-build");
  if (build) trackGalleryBuild(build);
  const family = document.getElementById("family-form");
  if (family) setupFamily(family);
  const job = document.getElementById("job");
  if (job && ["analyze", "family"].includes(job.dataset.kind)) {
    trackJob(job, (results, status) => {
      if (status.kind === "family") renderFamily(results, status.result);
      else renderAnalysis(results, status.result, status.options);
    });
  }
});
