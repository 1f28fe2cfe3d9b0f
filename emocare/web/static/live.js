// emocare serve, live page: one EventSource for moods, comfort and events (pushed, no polling), the MJPEG
// <img> for the video, and three buttons that POST a command (with the page's CSRF token).
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("page-strings").textContent);
  const COLORS = JSON.parse(document.getElementById("mood-colors").textContent);
  const CSRF = document.querySelector('meta[name="csrf-token"]').content;
  const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const emo = (m) => T["emo_" + m] || m;
  const clock = (t) => {
    t = Math.max(0, Math.floor(t || 0));
    return Math.floor(t / 60) + ":" + String(t % 60).padStart(2, "0");
  };
  const LANG = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  const words = (ev) => (ev.messages && ev.messages[LANG]) || ev.message;  // a comfort in the page's language
  const said = (prefix, word) => T[prefix + String(word).replace(/ /g, "_")] || word;  // a journal word, in T
  let state = { paused: false, muted: false, running: false, ended: null };
  let busy = false;  // this page was turned away: every viewer place is taken (serve --max-viewers)
  let connected = false;
  let moods = null;  // the last moods pushed: drawn again as past once the session ends
  const ended = () => !state.running && !!state.ended;

  function renderEnded() {  // the session has ended: says so over the video, and nothing acts on a live source
    const over = ended();
    for (const button of document.querySelectorAll("button[data-command]")) button.disabled = over;
    const note = $("video-note");
    note.textContent = !over ? "" : state.ended === "end of source" ? T.video_ended
      : T.ended + T.colon + said("end_", state.ended);
    note.hidden = !over;
    $("live-heading").textContent = over ? T.live_heading_ended : T.live_heading;
    if (over && $("comfort-card").dataset.comfort !== "1") $("comfort").textContent = T.no_care;
  }

  function renderStatus() {
    const pill = $("status");
    let text, cls;
    if (!connected) { text = busy ? T.busy : T.disconnected; cls = "pill-wait"; }
    else if (!state.running && state.ended) { text = T.ended; cls = "pill-ended"; }
    else {
      const parts = [T.connected];
      if (state.paused) parts.push(T.paused);
      if (state.muted) parts.push(T.muted);
      text = parts.join(" · "); cls = "pill-live";
    }
    pill.textContent = text;
    pill.className = "pill " + cls;
    $("btn-pause").textContent = state.paused ? T.resume : T.pause;
    $("btn-pause").classList.toggle("active", !!state.paused);
    $("btn-mute").textContent = state.muted ? T.unmute : T.mute;
    $("btn-mute").classList.toggle("active", !!state.muted);
    renderEnded();
    renderPeople(moods);
  }

  function personHead(p, several, past) {  // the mood (as past once the session ended), who, for how long
    const head = el("div", "person-head");
    const dot = el("span", "mood-dot");
    dot.style.background = COLORS[p.mood || "uncertain"];
    head.appendChild(dot);
    const text = !p.mood ? T.mood_forming : past ? T.last_seen.replace("{mood}", emo(p.mood)) : emo(p.mood);
    const name = el("span", past ? "mood-name past" : "mood-name", text);
    name.dataset.mood = p.mood || "";
    head.appendChild(name);
    const meta = el("span", "person-meta", T.person + " " + p.id);
    if (p.primary && several) meta.appendChild(el("span", "badge", T.primary));  // the window's main person
    if (p.mood && !past) meta.appendChild(el("div", "", T.steady_for + " " + Math.round(p.since_s) + " " + T.seconds_short));
    head.appendChild(meta);
    return head;
  }

  function renderPeople(latest) {
    moods = latest;
    const box = $("people");
    box.textContent = "";
    const people = (moods && moods.people) || [];
    const past = ended();
    if (!people.length) { box.appendChild(el("p", "muted", T.no_face)); }
    for (const p of people) {
      const card = el("div", past ? "person past" : "person");
      card.dataset.person = p.id;
      const head = personHead(p, people.length > 1, past);
      card.appendChild(head);
      const grid = el("div", "scores");
      for (const e of EMOTIONS) {
        const v = p.scores[e] || 0;
        grid.appendChild(el("span", "", emo(e)));
        const bar = el("span", "bar");
        const fill = el("i");
        fill.style.width = (100 * v).toFixed(1) + "%";
        fill.style.background = COLORS[e];
        bar.appendChild(fill);
        grid.appendChild(bar);
        grid.appendChild(el("span", "num", Math.round(100 * v) + "%"));
      }
      card.appendChild(grid);
      box.appendChild(card);
    }
    $("rate").textContent = past ? T.analysis_ended  // paused: no rate (the last one stayed, as if it ran on)
      : state.paused ? T.analysis_rate + " " + T.paused
      : moods && moods.fps ? T.analysis_rate + " " + moods.fps.toFixed(1) + " fps" : "";
  }

  function renderBanner(banner) {  // state.banner: shown with the window's opacity, then withdrawn (null)
    const node = $("banner");
    if (banner && !ended()) {  // once the session has ended, no comfort stays over its last frame
      if (node.textContent !== words(banner)) node.textContent = words(banner);
      node.style.opacity = String(banner.opacity);
      node.hidden = false;
    } else {
      node.hidden = true;
      node.style.opacity = "0";
    }
    $("comfort").classList.toggle("withdrawn", !banner && $("comfort-card").dataset.comfort === "1");
    $("comfort-card").dataset.banner = banner ? String(banner.opacity) : "";
  }

  let shown = null;  // the comfort on the card: its banner (at once) and its journal line (with the details) agree

  // a banner and a journal line this far apart are one comfort: the banner shows for 10 s (care.BANNER_S), and
  // the page hears of it only once someone looks, which may be seconds after the journal line
  const SAME_COMFORT_S = 10;

  function showComfort(ev, fresh) {
    const same = shown && shown.message === ev.message && Math.abs(shown.t - ev.t) < SAME_COMFORT_S;
    if (same && !ev.action) return;
    fresh = fresh && !same;
    shown = { message: ev.message, t: ev.t };
    const text = $("comfort");
    text.textContent = words(ev);
    text.classList.remove("muted");
    text.classList.toggle("withdrawn", !state.banner);
    if (fresh) { text.classList.remove("fresh"); void text.offsetWidth; text.classList.add("fresh"); }
    const meta = [clock(ev.t)];
    if (ev.mood) meta.push(emo(ev.mood));
    if (ev.action) meta.push(T["action_" + ev.action] || ev.action);
    if (ev.note) meta.push(said("note_", ev.note));
    $("comfort-meta").textContent = meta.join(" · ");
    $("comfort-card").dataset.comfort = "1";
  }

  function addEvent(ev, fresh) {
    if (ev.type === "comfort" || ev.type === "care") showComfort(ev, fresh);
    if (ev.type === "comfort") return;  // listed once its journal line (care) comes
    const list = $("events");
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = el("li");
    li.dataset.type = ev.type;
    li.appendChild(el("span", "when", clock(ev.t)));
    const what = el("span", "what");
    if (ev.type === "change") {
      what.appendChild(el("span", "", T.person + " " + ev.id + T.colon + emo(ev.from) + " → "));
      const tag = el("span", "tag", emo(ev.to));
      tag.style.background = COLORS[ev.to] || COLORS.uncertain;
      what.appendChild(tag);
    } else if (ev.type === "care") {
      const tag = el("span", "tag", T.event_care);
      tag.style.background = COLORS[ev.mood] || COLORS.sad;
      what.appendChild(tag);
      what.appendChild(document.createTextNode(" " + words(ev)));
    } else if (ev.type === "snapshot") {
      what.textContent = T.event_snapshot + T.colon + String(ev.path || "").split("/").pop();
      what.title = String(ev.path || "");  // the whole path (its folder), on hover
    } else if (ev.type === "start") {
      what.textContent = T.event_start + (ev.source ? T.colon + String(ev.source).split("/").pop() : "");
    } else if (ev.type === "end") {
      what.textContent = T.event_end + (ev.reason ? T.colon + said("end_", ev.reason) : "");
    } else {
      what.textContent = T.event_error + T.colon + (ev.message || "");
    }
    li.appendChild(what);
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 40) list.lastChild.remove();
  }

  function connect() {
    const source = new EventSource("events");
    source.addEventListener("hello", (m) => {
      const data = JSON.parse(m.data);
      connected = true;
      busy = false;
      state = data.state;
      $("events").textContent = "";
      $("events").appendChild(el("li", "muted empty", T.events_none));
      for (const ev of data.events) addEvent(ev, false);
      moods = data.moods;
      renderStatus();
      renderBanner(state.banner);
    });
    source.addEventListener("state", (m) => { state = JSON.parse(m.data); renderStatus(); renderBanner(state.banner); });
    source.addEventListener("moods", (m) => renderPeople(JSON.parse(m.data)));
    source.addEventListener("event", (m) => addEvent(JSON.parse(m.data), true));
    source.onerror = () => {  // EventSource reconnects by itself, except after a refusal (503: no place free)
      connected = false;
      renderStatus();
      if (source.readyState !== EventSource.CLOSED) return;
      fetch("api/state", { credentials: "same-origin" }).then((r) => r.json()).then((data) => {
        busy = !!data.full;
        renderStatus();
      }).catch(() => {});
      setTimeout(connect, 3000);
    };
  }

  for (const button of document.querySelectorAll("button[data-command]")) {
    button.addEventListener("click", () => {
      fetch("control", {
        method: "POST",
        headers: { "X-CSRF-Token": CSRF, "Content-Type": "application/x-www-form-urlencoded" },
        body: "command=" + encodeURIComponent(button.dataset.command),
        credentials: "same-origin",
      }).then((r) => {  // refused: this page's CSRF token is not this server's (it restarted): a fresh page has it
        if (r.status === 403) location.reload();
      }).catch(() => {});
    });
  }

  const video = $("video");
  video.addEventListener("error", () => {  // the stream broke (server restarting): try again shortly
    setTimeout(() => { video.src = "video.mjpg?" + Date.now(); }, 2000);
  });

  renderStatus();
  connect();
})();
