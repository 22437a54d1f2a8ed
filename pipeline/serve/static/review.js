// sceneocr review page: read photos through POST /v1/read, show their words over them, correct, save.
// Plain script, no build step, no dependencies. Texts from the server are only ever set with textContent
// or as attribute values, never parsed as HTML.
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const READ_AT_ONCE = 3; // photos read concurrently (the server batches them together)
  const LABEL_MIN_PX = 11; // on-screen label size bounds, pixels: small words stay legible when zoomed
  const LABEL_MAX_PX = 26;
  const EDITED_COLOR = "#38bdf8";

  const $ = (id) => document.getElementById(id);
  const ui = {
    files: $("files"), status: $("status"), server: $("server"), tokenBox: $("token-box"), token: $("token"),
    list: $("photo-list"), canvas: $("canvas"), stage: $("stage"), photo: $("photo"), dim: $("dim"),
    words: $("words"), labels: $("labels"), draft: $("draft"), zoomLevel: $("zoom-level"),
    showLabels: $("show-labels"), draw: $("draw"), save: $("save"), editor: $("editor"),
    wordText: $("word-text"), wordInfo: $("word-info"), wordList: $("word-list"),
    exports: { json: $("export-json"), labelstudio: $("export-labelstudio"), alto: $("export-alto"),
               page: $("export-page") },
  };

  const state = {
    photos: [], // {id, file, name, url, status, error, record, words, dirty, saved}
    current: -1,
    selected: -1, // index into the current photo's words
    view: { s: 1, tx: 0, ty: 0 },
    drawing: false,
    token: sessionStorage.getItem("sceneocr-token") || "",
  };
  let nextId = 1;
  let reading = 0;

  // -- colours: the same red -> yellow -> green ramp as pipeline/output/overlay.py's score_color --
  function scoreColor(score) {
    let s = Number(score);
    s = Number.isFinite(s) ? Math.min(Math.max(s, 0), 1) : 0;
    const [r, g] = s < 0.5 ? [255, Math.round(510 * s)] : [Math.round(510 * (1 - s)), 255];
    return `rgb(${r}, ${g}, 0)`;
  }
  const wordColor = (w) => (w.edited ? EDITED_COLOR : scoreColor(w.score));

  // -- talking to the server --
  function headers() {
    return state.token ? { Authorization: `Bearer ${state.token}` } : {};
  }

  async function api(path, options = {}) {
    const response = await fetch(path, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
    if (response.status === 401) {
      ui.tokenBox.hidden = false;
      ui.token.focus();
      throw new Error("this server needs a token: enter it above");
    }
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  }

  function say(message, isError = false) {
    ui.status.textContent = message;
    ui.status.classList.toggle("error", isError);
  }

  async function loadInfo() {
    try {
      const info = await (await api("/v1/info")).json();
      ui.server.textContent = `${info.detector.split(":")[0]} + ${info.recognizer}`;
      ui.server.title = `detector ${info.detector}\nrecognizer ${info.recognizer}\n` +
        `batching: ${info.serve.batching ? "up to " + info.serve.max_batch + " photos" : "off"}`;
      ui.save.dataset.enabled = info.serve.corrections ? "1" : "";
      ui.tokenBox.hidden = !info.serve.token_required;
    } catch (err) {
      say(err.message, true);
    }
  }

  // -- photos --
  function addFiles(files) {
    const images = [...files].filter((f) => f.type.startsWith("image/") || /\.(jpe?g|png|webp|tiff?|bmp|gif)$/i.test(f.name));
    for (const file of images) {
      state.photos.push({ id: nextId++, file, name: file.name, url: URL.createObjectURL(file), status: "waiting",
                          error: null, record: null, words: [], dirty: false, saved: null });
    }
    if (state.current < 0 && state.photos.length) showPhoto(0);
    renderList();
    pump();
  }

  function pump() {
    while (reading < READ_AT_ONCE) {
      const photo = state.photos.find((p) => p.status === "waiting");
      if (!photo) break;
      reading += 1;
      photo.status = "reading";
      readPhoto(photo).finally(() => { reading -= 1; renderList(); pump(); });
    }
    const busy = state.photos.filter((p) => p.status === "reading" || p.status === "waiting").length;
    if (busy) say(`reading ${busy} photo${busy > 1 ? "s" : ""}…`);
  }

  async function readPhoto(photo) {
    const form = new FormData();
    form.append("image", photo.file, photo.name);
    const t0 = performance.now();
    try {
      const record = await (await api("/v1/read", { method: "POST", body: form })).json();
      photo.record = record;
      photo.words = flatten(record);
      photo.status = "done";
      say(`${photo.name}: ${photo.words.length} words in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      photo.status = "error";
      photo.error = err.message;
      say(`${photo.name}: ${err.message}`, true);
    }
    if (state.photos[state.current] === photo) showPhoto(state.current);
  }

  function flatten(record) {
    const words = [];
    (record.lines || []).forEach((line, l) => {
      for (const w of line.words) {
        words.push({ ...w, line: l, edited: false, added: false, deleted: false, original: w.text });
      }
    });
    return words;
  }

  function renderList() {
    ui.list.replaceChildren();
    state.photos.forEach((photo, i) => {
      const li = document.createElement("li");
      li.className = [i === state.current ? "current" : "", photo.status, photo.dirty ? "unsaved" : ""].join(" ");
      li.dataset.index = String(i);
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = photo.name;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = photoMeta(photo);
      li.append(name, meta);
      li.title = photo.error || photo.name;
      li.addEventListener("click", () => showPhoto(i));
      ui.list.append(li);
    });
  }

  function photoMeta(photo) {
    if (photo.status === "error") return photo.error;
    if (photo.status !== "done") return photo.status + "…";
    const live = photo.words.filter((w) => !w.deleted);
    const low = live.filter((w) => !w.edited && w.score < 0.5).length;
    const edited = live.filter((w) => w.edited).length + photo.words.filter((w) => w.deleted && !w.added).length;
    return `${live.length} words` + (low ? ` · ${low} unsure` : "") + (edited ? ` · ${edited} corrected` : "") +
      (photo.saved && !photo.dirty ? " · saved" : "");
  }

  const current = () => state.photos[state.current] || null;

  function showPhoto(i) {
    state.current = i;
    state.selected = -1;
    const photo = current();
    document.body.classList.toggle("has-photo", !!photo);
    if (!photo) return;
    const w = photo.record ? photo.record.width : 0;
    const h = photo.record ? photo.record.height : 0;
    ui.photo.setAttribute("href", photo.url);
    if (w && h) {
      for (const el of [ui.photo, ui.dim]) { el.setAttribute("width", w); el.setAttribute("height", h); }
      fit();
    } else {
      // not read yet: show the photo at its own size meanwhile
      const img = new Image();
      img.onload = () => {
        if (current() !== photo || photo.record) return;
        for (const el of [ui.photo, ui.dim]) {
          el.setAttribute("width", img.naturalWidth); el.setAttribute("height", img.naturalHeight);
        }
        fit();
      };
      img.src = photo.url;
    }
    renderWords();
    renderList();
    updateButtons();
  }

  // -- drawing the words --
  function wordOutline(w) {
    return w.polygon && w.polygon.length >= 3 ? w.polygon : w.quad;
  }

  function wordHeight(q) {
    const d = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
    return (d(q[0], q[3]) + d(q[1], q[2])) / 2;
  }

  function renderWords() {
    ui.words.replaceChildren();
    ui.labels.replaceChildren();
    const photo = current();
    if (!photo || photo.status !== "done") { renderWordList(); renderEditor(); return; }
    photo.words.forEach((w, i) => {
      if (w.deleted) return;
      const color = wordColor(w);
      const g = document.createElementNS(SVG_NS, "g");
      g.setAttribute("class", "word" + (w.edited ? " edited" : "") + (i === state.selected ? " selected" : ""));
      g.dataset.index = String(i);
      g.dataset.text = w.text;
      g.dataset.score = String(w.score);
      const poly = document.createElementNS(SVG_NS, "polygon");
      poly.setAttribute("points", wordOutline(w).map((p) => `${p[0]},${p[1]}`).join(" "));
      poly.setAttribute("stroke", color);
      poly.setAttribute("fill", color);
      const title = document.createElementNS(SVG_NS, "title");
      title.textContent = `${w.text} (${Number(w.score).toFixed(2)})`;
      poly.append(title);
      g.append(poly);
      ui.words.append(g);

      const label = document.createElementNS(SVG_NS, "text");
      label.textContent = w.text || "?";
      label.setAttribute("fill", color);
      label.setAttribute("text-anchor", "middle");
      label.dataset.index = String(i);
      if (i === state.selected) label.setAttribute("class", "selected");
      const xs = w.quad.map((p) => p[0]);
      const ys = w.quad.map((p) => p[1]);
      label.dataset.x = String((Math.min(...xs) + Math.max(...xs)) / 2);
      label.dataset.top = String(Math.min(...ys));
      label.dataset.bottom = String(Math.max(...ys));
      label.dataset.h = String(wordHeight(w.quad));
      ui.labels.append(label);
    });
    placeLabels();
    renderWordList();
    renderEditor();
  }

  // labels keep a legible on-screen size at every zoom: 0.6 x the word's own height on screen, kept between
  // LABEL_MIN_PX and LABEL_MAX_PX; centred just above the word (below it at the photo's top edge)
  function placeLabels() {
    const s = state.view.s;
    for (const label of ui.labels.children) {
      const px = Math.min(Math.max(0.6 * Number(label.dataset.h) * s, LABEL_MIN_PX), LABEL_MAX_PX);
      const size = px / s;
      const gap = 3 / s;
      let y = Number(label.dataset.top) - gap - 0.25 * size;
      if (y - size < 0) y = Number(label.dataset.bottom) + gap + size;
      label.setAttribute("x", label.dataset.x);
      label.setAttribute("y", String(y));
      label.setAttribute("font-size", String(size));
      label.setAttribute("stroke-width", String(Math.max(2, px / 5) / s));
    }
  }

  function renderWordList() {
    ui.wordList.replaceChildren();
    const photo = current();
    if (!photo) return;
    if (photo.status !== "done") {
      const p = document.createElement("p");
      p.textContent = photo.status === "error" ? `Could not read: ${photo.error}` : "Reading…";
      ui.wordList.append(p);
      return;
    }
    let lineIndex = null;
    let div = null;
    photo.words.forEach((w, i) => {
      if (w.deleted) return;
      const key = w.added ? `added-${i}` : w.line;
      if (key !== lineIndex || !div) {
        lineIndex = key;
        div = document.createElement("div");
        div.className = "line";
        ui.wordList.append(div);
      }
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip" + (w.edited ? " edited" : "") + (i === state.selected ? " selected" : "");
      chip.textContent = w.text || "?";
      chip.style.color = wordColor(w);
      chip.title = `recognition ${Number(w.score).toFixed(2)}, detection ${Number(w.det_score).toFixed(2)}` +
        (w.edited ? `\nread as "${w.original}"` : "");
      chip.addEventListener("click", () => select(i, true));
      div.append(chip);
    });
  }

  function renderEditor() {
    const photo = current();
    const w = photo && photo.words[state.selected];
    ui.editor.hidden = !w;
    if (!w) return;
    ui.wordText.value = w.text;
    ui.wordInfo.textContent = w.added ? "drawn by hand" :
      `read as "${w.original}" · recognition ${Number(w.score).toFixed(2)} · detection ` +
      `${Number(w.det_score).toFixed(2)}` + (w.angle ? ` · turned ${w.angle}°` : "");
  }

  function select(i, reveal = false) {
    state.selected = i;
    renderWords();
    const photo = current();
    if (reveal && photo && photo.words[i]) centerOn(photo.words[i].quad);
    if (i >= 0) { ui.wordText.focus(); ui.wordText.select(); }
  }

  function step(delta) {
    const photo = current();
    if (!photo) return;
    const live = photo.words.map((w, i) => (w.deleted ? -1 : i)).filter((i) => i >= 0);
    if (!live.length) return;
    const at = live.indexOf(state.selected);
    const next = at < 0 ? (delta > 0 ? 0 : live.length - 1) : (at + delta + live.length) % live.length;
    select(live[next], true);
  }

  // -- editing --
  function markDirty(photo) {
    photo.dirty = true;
    renderList();
    updateButtons();
  }

  function applyText() {
    const photo = current();
    const w = photo && photo.words[state.selected];
    if (!w) return;
    const text = ui.wordText.value.replace(/\s+/g, " ").trim();
    if (!text) { deleteSelected(); return; }
    if (text !== w.text) {
      w.text = text;
      w.edited = true;
      // a person's reading: sure, and no per-character scores from a model
      w.score = 1.0;
      w.char_scores = [];
      markDirty(photo);
    }
    renderWords();
  }

  function deleteSelected() {
    const photo = current();
    const w = photo && photo.words[state.selected];
    if (!w) return;
    w.deleted = true;
    state.selected = -1;
    markDirty(photo);
    renderWords();
  }

  function addDrawnWord(x0, y0, x1, y1) {
    const photo = current();
    const quad = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]].map((p) => p.map((v) => Math.round(v * 10) / 10));
    photo.words.push({ text: "", score: 1.0, det_score: 1.0, quad, char_scores: [], angle: 0.0, line: -1,
                       edited: true, added: true, deleted: false, original: "" });
    markDirty(photo);
    setDrawing(false);
    select(photo.words.length - 1);
  }

  // the corrected record; the server assembles lines and blocks afresh from the words
  function correctedRecord(photo) {
    const r = photo.record;
    const lines = [];
    const byLine = new Map();
    for (const w of photo.words) {
      if (w.deleted || !w.text.trim()) continue;
      const word = { text: w.text, score: w.score, det_score: w.det_score, quad: w.quad,
                     char_scores: w.char_scores || [], angle: w.angle || 0 };
      if (w.polygon) word.polygon = w.polygon;
      if (w.stacked) word.stacked = true;
      if (w.line >= 0 && r.lines[w.line]) {
        if (!byLine.has(w.line)) { byLine.set(w.line, { quad: r.lines[w.line].quad, words: [] }); lines.push(byLine.get(w.line)); }
        byLine.get(w.line).words.push(word);
      } else {
        lines.push({ quad: w.quad, words: [word] });
      }
    }
    return { image: r.image, width: r.width, height: r.height, detector: r.detector, recognizer: r.recognizer,
             lines, blocks: [] };
  }

  async function save() {
    const photo = current();
    if (!photo || photo.status !== "done") return;
    const form = new FormData();
    form.append("record", JSON.stringify(correctedRecord(photo)));
    form.append("image", photo.file, photo.name);
    try {
      const saved = await (await api("/v1/corrections", { method: "POST", body: form })).json();
      photo.dirty = false;
      photo.saved = saved.saved;
      say(`${photo.name}: saved ${saved.words} words as ${saved.saved} (${saved.records} photos in ${saved.file})`);
    } catch (err) {
      say(`${photo.name}: not saved: ${err.message}`, true);
    }
    renderList();
    updateButtons();
  }

  const EXPORTS = {
    json: [".json", "application/json"], labelstudio: [".labelstudio.json", "application/json"],
    alto: [".alto.xml", "application/xml"], page: [".page.xml", "application/xml"],
  };

  async function exportAs(fmt) {
    const photo = current();
    if (!photo || photo.status !== "done") return;
    try {
      const response = await api(`/v1/convert?format=${fmt}`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(correctedRecord(photo)),
      });
      const blob = new Blob([await response.arrayBuffer()], { type: EXPORTS[fmt][1] });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = photo.name.replace(/\.[^.]+$/, "") + EXPORTS[fmt][0];
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (err) {
      say(`${photo.name}: export failed: ${err.message}`, true);
    }
  }

  function updateButtons() {
    const photo = current();
    const done = !!photo && photo.status === "done";
    ui.save.disabled = !done || ui.save.dataset.enabled === "";
    for (const button of Object.values(ui.exports)) button.disabled = !done;
    ui.draw.disabled = !done;
  }

  // -- zoom and pan --
  function applyView() {
    const { s, tx, ty } = state.view;
    ui.stage.setAttribute("transform", `translate(${tx} ${ty}) scale(${s})`);
    ui.zoomLevel.textContent = `${Math.round(s * 100)}%`;
    placeLabels();
  }

  function photoSize() {
    return [Number(ui.photo.getAttribute("width")) || 1, Number(ui.photo.getAttribute("height")) || 1];
  }

  function fit() {
    const box = ui.canvas.getBoundingClientRect();
    const [w, h] = photoSize();
    const s = Math.min((box.width - 24) / w, (box.height - 24) / h) || 1;
    state.view = { s, tx: (box.width - w * s) / 2, ty: (box.height - h * s) / 2 };
    applyView();
  }

  function zoomAt(factor, cx, cy) {
    const v = state.view;
    const [w, h] = photoSize();
    const box = ui.canvas.getBoundingClientRect();
    const fitScale = Math.min(box.width / w, box.height / h) || 1;
    const s = Math.min(Math.max(v.s * factor, fitScale / 4), 40);
    const k = s / v.s;
    state.view = { s, tx: cx - (cx - v.tx) * k, ty: cy - (cy - v.ty) * k };
    applyView();
  }

  function zoomCentre(factor) {
    const box = ui.canvas.getBoundingClientRect();
    zoomAt(factor, box.width / 2, box.height / 2);
  }

  function centerOn(quad) {
    const box = ui.canvas.getBoundingClientRect();
    const { s } = state.view;
    const xs = quad.map((p) => p[0]);
    const ys = quad.map((p) => p[1]);
    const [cx, cy] = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
    const sx = cx * s + state.view.tx;
    const sy = cy * s + state.view.ty;
    if (sx < 40 || sy < 40 || sx > box.width - 40 || sy > box.height - 40) {
      state.view.tx = box.width / 2 - cx * s;
      state.view.ty = box.height / 2 - cy * s;
      applyView();
    }
  }

  function toImage(event) {
    const box = ui.canvas.getBoundingClientRect();
    const { s, tx, ty } = state.view;
    return [(event.clientX - box.left - tx) / s, (event.clientY - box.top - ty) / s];
  }

  let drag = null; // {kind: "pan"|"draw", x, y, tx, ty, moved, start}

  ui.canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = ui.canvas.getBoundingClientRect();
    const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
    zoomAt(Math.exp(-delta * 0.0015), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });

  ui.canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !current()) return;
    ui.canvas.setPointerCapture(event.pointerId);
    drag = { kind: state.drawing ? "draw" : "pan", x: event.clientX, y: event.clientY, tx: state.view.tx,
             ty: state.view.ty, moved: false, start: toImage(event), target: event.target };
    if (drag.kind === "pan") ui.canvas.classList.add("panning");
  });

  ui.canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (Math.hypot(dx, dy) > 4) drag.moved = true;
    if (drag.kind === "pan" && drag.moved) {
      state.view.tx = drag.tx + dx;
      state.view.ty = drag.ty + dy;
      applyView();
    } else if (drag.kind === "draw") {
      const [x0, y0] = drag.start;
      const [x1, y1] = toImage(event);
      ui.draft.setAttribute("points", `${x0},${y0} ${x1},${y0} ${x1},${y1} ${x0},${y1}`);
    }
  });

  ui.canvas.addEventListener("pointerup", (event) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    ui.canvas.classList.remove("panning");
    ui.draft.setAttribute("points", "");
    if (d.kind === "draw") {
      const [ax, ay] = d.start;
      const [bx, by] = toImage(event);
      const [w, h] = photoSize();
      const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
      const [x0, x1] = [clamp(Math.min(ax, bx), w), clamp(Math.max(ax, bx), w)];
      const [y0, y1] = [clamp(Math.min(ay, by), h), clamp(Math.max(ay, by), h)];
      if (x1 - x0 >= 3 && y1 - y0 >= 3) addDrawnWord(x0, y0, x1, y1);
      return;
    }
    if (!d.moved) {
      const g = d.target.closest ? d.target.closest(".word") : null;
      if (g) select(Number(g.dataset.index));
      else if (state.selected >= 0) select(-1);
    }
  });

  function setDrawing(on) {
    state.drawing = on;
    ui.draw.setAttribute("aria-pressed", String(on));
    ui.canvas.classList.toggle("drawing", on);
    if (on) say("drag over the photo to draw the missing word's box");
  }

  // -- wiring --
  ui.files.addEventListener("change", () => { addFiles(ui.files.files); ui.files.value = ""; });
  document.addEventListener("dragover", (event) => { event.preventDefault(); document.body.classList.add("dragging"); });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });
  $("fit").addEventListener("click", fit);
  $("zoom-in").addEventListener("click", () => zoomCentre(1.25));
  $("zoom-out").addEventListener("click", () => zoomCentre(0.8));
  ui.showLabels.addEventListener("change", () => ui.labels.classList.toggle("hidden", !ui.showLabels.checked));
  ui.draw.addEventListener("click", () => setDrawing(!state.drawing));
  ui.save.addEventListener("click", save);
  for (const [fmt, button] of Object.entries(ui.exports)) button.addEventListener("click", () => exportAs(fmt));
  ui.editor.addEventListener("submit", (event) => { event.preventDefault(); applyText(); });
  $("delete").addEventListener("click", deleteSelected);
  ui.token.addEventListener("change", () => {
    state.token = ui.token.value.trim();
    sessionStorage.setItem("sceneocr-token", state.token);
    loadInfo();
    for (const p of state.photos) if (p.status === "error") { p.status = "waiting"; p.error = null; }
    pump();
  });
  ui.token.value = state.token;
  window.addEventListener("resize", () => { if (current()) fit(); });
  window.addEventListener("beforeunload", (event) => {
    if (state.photos.some((p) => p.dirty)) { event.preventDefault(); event.returnValue = ""; }
  });

  ui.wordText.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {
      event.preventDefault();
      applyText();
      step(event.shiftKey ? -1 : 1);
    } else if (event.key === "Escape") {
      renderEditor();
      ui.wordText.blur();
    }
  });

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      if (!ui.save.disabled) save();
      return;
    }
    if (event.target instanceof HTMLInputElement) return;
    const keys = {
      Tab: () => step(event.shiftKey ? -1 : 1), Delete: deleteSelected, Backspace: deleteSelected,
      b: () => setDrawing(!state.drawing), f: fit, "+": () => zoomCentre(1.25), "=": () => zoomCentre(1.25),
      "-": () => zoomCentre(0.8),
      l: () => { ui.showLabels.checked = !ui.showLabels.checked; ui.showLabels.dispatchEvent(new Event("change")); },
      Escape: () => { setDrawing(false); select(-1); },
    };
    const action = keys[event.key] || keys[event.key.toLowerCase()];
    if (action && current()) { event.preventDefault(); action(); }
  });

  renderList();
  updateButtons();
  loadInfo();
})();
