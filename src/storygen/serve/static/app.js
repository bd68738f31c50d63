// storygen Studio: a plain page over the REST API (no build step).
"use strict";

const $ = (id) => document.getElementById(id);
const TERMINAL = ["done", "failed", "cancelled"];
let token = sessionStorage.getItem("storygen-token") || "";
let current = null;      // the story shown
let stream = null;       // AbortController of its event stream
let offset = 0;

// ------------------------------------------------------------------ API
async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  if (res.status === 401) { $("token-box").hidden = false; $("token").focus(); }
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const err = new Error(body && body.error ? body.error + (body.fix ? " Fix: " + body.fix : "") : "HTTP " + res.status);
    err.status = res.status;
    throw err;
  }
  return body;
}

function showError(msg) {
  const el = $("error");
  el.textContent = msg || "";
  el.hidden = !msg;
}

// ------------------------------------------------------------------ options
function fill(select, choices, def) {
  select.innerHTML = "";
  for (const c of choices) {
    const o = document.createElement("option");
    o.value = c.name;
    o.textContent = c.label || c.name || "default";
    if (c.available === false) { o.disabled = true; o.textContent += " (unavailable)"; o.title = c.why || ""; }
    if (c.name === def) o.selected = true;
    select.appendChild(o);
  }
}

async function loadOptions() {
  const o = await api("/api/options");
  for (const sel of document.querySelectorAll("select[data-cap]")) {
    const p = o.providers[sel.dataset.cap];
    sel.dataset.key = p.key;
    fill(sel, p.choices, p.default);
  }
  $("opt-style").dataset.key = o.caption_styles.key;
  fill($("opt-style"), o.caption_styles.choices.map((n) => ({ name: n })), o.caption_styles.default);
  $("opt-music").dataset.key = o.music.key;
  fill($("opt-music"), o.music.choices, o.music.default);
  if (o.languages && o.languages.key) {
    $("lang-box").hidden = false;
    $("opt-lang").dataset.key = o.languages.key;
    fill($("opt-lang"), o.languages.choices);
  }
}

// ------------------------------------------------------------------ new story
async function submitStory(ev) {
  ev.preventDefault();
  showError("");
  const form = new FormData();
  const idea = $("idea").value.trim();
  if (idea) form.append("idea", idea);
  const config = {};
  for (const sel of $("choices").querySelectorAll("select")) {
    if (sel.dataset.key && sel.value && !sel.closest("[hidden]")) config[sel.dataset.key] = sel.value;
  }
  form.append("config", JSON.stringify(config));
  if ($("up-script").files[0]) form.append("script", $("up-script").files[0]);
  if ($("up-voice").files[0]) form.append("voice", $("up-voice").files[0]);
  for (const f of $("up-images").files) form.append("images", f);
  $("submit").disabled = true;
  try {
    const r = await api("/api/stories", { method: "POST", body: form });
    location.hash = "story=" + r.id;
    await loadPast(true);
  } catch (e) {
    showError(e.message);
  } finally {
    $("submit").disabled = false;
  }
}

// ------------------------------------------------------------------ one story
function render(s) {
  current = s;
  $("story").hidden = false;
  $("story-title").textContent = s.title || s.id;
  const st = $("status");
  st.textContent = s.status;
  st.className = "badge " + s.status;
  $("message").textContent = s.progress.message || "";
  $("progress").value = s.progress.fraction || 0;
  const err = $("story-error");
  err.hidden = !s.error;
  err.textContent = s.error ? s.error.message + (s.error.fix ? " Fix: " + s.error.fix : "") : "";
  const ol = $("stages");
  ol.innerHTML = "";
  for (const g of s.stages || []) {
    const li = document.createElement("li");
    const running = s.status === "running" && s.stage === g.name;
    li.className = running ? "running" : g.state;
    li.dataset.stage = g.name;
    li.innerHTML = `<span></span><span class="state"></span>`;
    li.firstChild.textContent = g.label;
    li.lastChild.textContent = running ? "running" : g.state + (g.seconds != null ? ` ${g.seconds.toFixed(1)}s` : "");
    li.title = g.why + (g.provider ? ` (${g.provider})` : "");
    ol.appendChild(li);
  }
  const video = $("video");
  const files = s.files || {};
  if (files.video && s.status === "done") {
    const src = files.video + "?v=" + (s.finished || "");
    if (video.dataset.src !== src) {
      video.dataset.src = src;
      if (files.thumbnail && !token) video.poster = files.thumbnail + "?v=" + (s.finished || "");
      const u = withToken(src, video, "src");
      if (u) video.src = u;
    }
    video.hidden = false;
  } else {
    video.hidden = true;
    video.removeAttribute("src");
    video.dataset.src = "";
  }
  const thumb = $("thumb");
  thumb.hidden = !(files.thumbnail && s.status === "done");
  if (!thumb.hidden) { const u = withToken(files.thumbnail + "?v=" + (s.finished || ""), thumb, "src"); if (u) thumb.src = u; }
  const dl = $("downloads");
  dl.innerHTML = "";
  const names = { video: "Video", thumbnail: "Thumbnail", captions_srt: "SRT", captions_vtt: "VTT", captions_ass: "ASS", metadata: "Metadata" };
  if (s.status === "done") {
    for (const [k, url] of Object.entries(files)) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      const u = withToken(url, a, "href");
      if (u) a.href = u;
      a.textContent = names[k] || k;
      a.setAttribute("download", "");
      li.appendChild(a);
      dl.appendChild(li);
    }
  }
  $("cancel").hidden = TERMINAL.includes(s.status);
  const revised = (s.stages || []).find((g) => g.name === "revised");
  const canEdit = TERMINAL.includes(s.status) && revised && revised.state !== "missing";
  $("editor").hidden = !canEdit;
  if (canEdit && $("editor").dataset.story !== s.id + s.finished) {
    $("editor").dataset.story = s.id + s.finished;
    api(`/api/stories/${s.id}/script`).then((r) => { $("script-text").value = r.script; }).catch(() => {});
  }
}

// media elements cannot send headers: with a token, files are fetched with it and shown from blob URLs
function withToken(url, el, attr) {
  if (!token) return url;
  fetch(url, { headers: { Authorization: "Bearer " + token } }).then((r) => r.blob())
    .then((b) => { el[attr] = URL.createObjectURL(b); }).catch(() => {});
  return "";
}

async function openStory(id) {
  if (stream) stream.abort();
  try {
    const s = await api(`/api/stories/${id}`);
    render(s);
    if (!TERMINAL.includes(s.status)) follow(id);
  } catch (e) {
    showError(e.message);
  }
}

async function follow(id) {
  const ctl = new AbortController();
  stream = ctl;
  let last = 0;
  let refresh = null;
  const later = () => { if (!refresh) refresh = setTimeout(async () => { refresh = null; try { render(await api(`/api/stories/${id}`)); } catch (e) { /* next event retries */ } }, 150); };
  while (!ctl.signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream" };
      if (token) headers["Authorization"] = "Bearer " + token;
      if (last) headers["Last-Event-ID"] = String(last);
      const res = await fetch(`/api/stories/${id}/events`, { headers, signal: ctl.signal });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let data = null;
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) last = Number(line.slice(4));
            if (line.startsWith("data: ")) data = JSON.parse(line.slice(6));
          }
          if (!data) continue;
          if (data.event === "progress" && current && current.id === id) {
            $("message").textContent = data.message || "";
          }
          later();
        }
      }
      const s = await api(`/api/stories/${id}`);
      render(s);
      if (TERMINAL.includes(s.status)) { loadPast(true); return; }
    } catch (e) {
      if (ctl.signal.aborted) return;
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
}

async function cancelStory() {
  if (!current) return;
  try { render(Object.assign(current, await api(`/api/stories/${current.id}`, { method: "DELETE" }))); openStory(current.id); }
  catch (e) { showError(e.message); }
}

async function remake() {
  if (!current) return;
  showError("");
  const id = current.id;
  $("remake").disabled = true;
  try {
    await api(`/api/stories/${id}/script`, { method: "PUT", headers: { "Content-Type": "application/json" },
                                             body: JSON.stringify({ script: $("script-text").value }) });
    await api(`/api/stories/${id}/rerun`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    await openStory(id);
  } catch (e) {
    showError(e.message);
  } finally {
    $("remake").disabled = false;
  }
}

// ------------------------------------------------------------------ the list
async function loadPast(reset) {
  if (reset) { offset = 0; $("past").innerHTML = ""; }
  try {
    const r = await api(`/api/stories?limit=20&offset=${offset}`);
    for (const s of r.stories) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "#story=" + s.id;
      a.textContent = s.title || s.id;
      const b = document.createElement("span");
      b.className = "badge " + s.status;
      b.textContent = s.status;
      li.append(a, b);
      $("past").appendChild(li);
    }
    offset += r.stories.length;
    $("more").hidden = !r.next;
  } catch (e) {
    if (e.status !== 401) showError(e.message);
  }
}

function route() {
  const m = location.hash.match(/story=([a-z0-9-]+)/);
  if (m) openStory(m[1]);
}

async function start() {
  $("new-story").addEventListener("submit", submitStory);
  $("cancel").addEventListener("click", cancelStory);
  $("remake").addEventListener("click", remake);
  $("more").addEventListener("click", () => loadPast(false));
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("storygen-token", token);
    $("token-box").hidden = true;
    start2();
  });
  window.addEventListener("hashchange", route);
  start2();
}

async function start2() {
  try { await loadOptions(); } catch (e) { if (e.status !== 401) showError(e.message); return; }
  await loadPast(true);
  route();
}

document.addEventListener("DOMContentLoaded", start);
