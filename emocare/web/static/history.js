// emocare serve, history pages: the week chart and each session's charts, drawn with the vendored Chart.js
// from the JSON the page carries (no further requests).
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("page-strings").textContent);
  const COLORS = JSON.parse(document.getElementById("mood-colors").textContent);
  const ORDER = ["sad", "angry", "fear", "disgust", "surprise", "happy", "neutral", "uncertain"];
  const emo = (m) => T["emo_" + m] || m;
  const data = (id) => { const node = document.getElementById(id); return node ? JSON.parse(node.textContent) : null; };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#6b7a86";
  Chart.defaults.animation = false;
  const grid = { color: "#eef1f4" };
  // the unit a chart counts in: seconds while its longest bar is under two minutes (a short session is not
  // "0.45 min"), else whole minutes; ticks are whole numbers of it either way
  const unitFor = (maxMinutes) => maxMinutes < 2 ? { per: 60, name: T.seconds_short, digits: 0 }
    : { per: 1, name: T.minutes_short, digits: 1 };
  const amount = (v, unit) => v.toFixed(unit.digits) + " " + unit.name;
  const clock = (t) => Math.floor(t / 60) + ":" + String(Math.floor(t % 60)).padStart(2, "0");

  const week = data("week-data");
  if (week) {
    const labels = week.days.map((d) => {
      const day = new Date(d + "T12:00:00");
      return day.toLocaleDateString(document.documentElement.lang, { weekday: "short", day: "numeric" });
    });
    const shown = ORDER.filter((m) => week.minutes[m]);
    const unit = unitFor(Math.max(0, ...week.days.map((_, i) => shown.reduce((sum, m) => sum + (week.minutes[m][i] || 0), 0))));
    const datasets = shown.map((m) => ({
      label: emo(m), data: week.minutes[m].map((v) => v * unit.per), backgroundColor: COLORS[m], borderRadius: 4,
      stack: "mood",
    }));
    new Chart(document.getElementById("week-chart"), {
      type: "bar",
      data: { labels, datasets },
      options: {
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, grid, beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: {
          // the unit above the y axis, written across as the page's text is (a Chinese word is not turned sideways)
          title: { display: true, text: unit.name, align: "start", position: "top", padding: { top: 0, bottom: 6 },
            font: { weight: "normal" } },
          legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10 } },
          tooltip: { callbacks: { label: (c) => c.dataset.label + T.colon + amount(c.parsed.y, unit) } },
        },
      },
    });
  }

  const sessions = data("sessions-data") || [];
  document.querySelectorAll("canvas.moods-chart").forEach((canvas) => {
    const s = sessions[Number(canvas.dataset.session)];
    const moods = ORDER.filter((m) => s.seconds[m]);
    const unit = unitFor(Math.max(0, ...moods.map((m) => s.seconds[m] / 60)));
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: moods.map(emo),
        datasets: [{ data: moods.map((m) => s.seconds[m] / 60 * unit.per), backgroundColor: moods.map((m) => COLORS[m]),
          borderRadius: 5 }],
      },
      options: {
        indexAxis: "y", maintainAspectRatio: false,
        scales: { x: { grid, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: unit.name } },
          y: { grid: { display: false } } },
        plugins: { legend: { display: false },
          tooltip: { callbacks: { label: (c) => amount(c.parsed.x, unit) } } },
      },
    });
  });

  document.querySelectorAll("canvas.timeline-chart").forEach((canvas) => {
    const s = sessions[Number(canvas.dataset.session)];
    const rows = ORDER.filter((m) => s.segments.some((g) => g[2] === m)).map(emo);
    const comfortRow = T.event_care;
    const datasets = ORDER.filter((m) => s.segments.some((g) => g[2] === m)).map((m) => ({
      type: "bar", label: emo(m), backgroundColor: COLORS[m], borderSkipped: false, borderRadius: 3,
      grouped: false, barPercentage: 0.72, categoryPercentage: 1.0,
      data: s.segments.filter((g) => g[2] === m).map((g) => ({ x: [g[0] / 60, g[1] / 60], y: emo(m) })),
    }));
    if (s.care.length) {
      datasets.push({
        type: "scatter", label: comfortRow, pointStyle: "rectRot", pointRadius: 7, pointHoverRadius: 9,
        backgroundColor: "#c2577a", data: s.care.map((c) => ({ x: c.t / 60, y: comfortRow, message: c.message })),
      });
    }
    new Chart(canvas, {
      data: { labels: s.care.length ? [...rows, comfortRow] : rows, datasets },
      options: {
        indexAxis: "y", maintainAspectRatio: false,
        scales: {
          x: { type: "linear", min: 0, grid, ticks: { callback: (v) => clock(v * 60) } },
          y: { type: "category", grid: { display: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (c) => c.raw.message ? clock(c.raw.x * 60) + " " + c.raw.message
            : c.dataset.label + " " + clock(c.raw.x[0] * 60) + "–" + clock(c.raw.x[1] * 60) } },
        },
      },
    });
  });
})();
