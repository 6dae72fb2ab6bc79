"use strict";

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(method, url, body) {
  const options = { method, headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `Request failed (${response.status}).`;
    const error = new Error(message);
    error.code = data && data.error ? data.error.code : "error";
    throw error;
  }
  return data;
}

function drawUsageChart() {
  const svg = document.getElementById("usage-chart");
  const source = document.getElementById("usage-daily");
  if (!svg || !source) return;
  const days = JSON.parse(source.textContent);
  const width = 280, height = 90, pad = 14;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const max = Math.max(1, ...days.map((d) => d.tokens));
  const step = (width - pad) / Math.max(days.length, 1);
  const ns = "http://www.w3.org/2000/svg";
  days.forEach((day, i) => {
    const h = Math.round((day.tokens / max) * (height - pad - 4));
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", pad + i * step + 1);
    bar.setAttribute("y", height - pad - h);
    bar.setAttribute("width", Math.max(step - 2, 1));
    bar.setAttribute("height", h);
    bar.setAttribute("class", "bar");
    const title = document.createElementNS(ns, "title");
    title.textContent = `${day.date}: ${day.tokens} tokens`;
    bar.appendChild(title);
    svg.appendChild(bar);
  });
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", pad);
  label.setAttribute("y", height - 2);
  label.setAttribute("class", "axis");
  label.textContent = days.length ? `${days[0].date} – ${days[days.length - 1].date}` : "";
  svg.appendChild(label);
}

document.addEventListener("DOMContentLoaded", drawUsageChart);
