"use strict";

(function () {
  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("upload-file");
  const progress = form.querySelector(".progress");
  const progressFill = form.querySelector(".progress-fill");
  const progressLabel = form.querySelector(".progress-label");
  const errorBox = document.getElementById("upload-error");
  const tbody = document.querySelector("#documents tbody");

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function renderRow(row, doc) {
    row.dataset.id = doc.id;
    row.dataset.status = doc.status;
    row.innerHTML = "<td><a></a></td><td class='status'></td><td class='pages'></td><td></td>";
    const link = row.querySelector("a");
    link.href = `/documents/${doc.id}/`;
    link.textContent = doc.title;
    const status = row.querySelector(".status");
    status.className = `status status-${doc.status}`;
    status.textContent = doc.status === "failed" && doc.error ? `failed: ${doc.error.message}` : doc.status;
    if (doc.status === "processing" && doc.progress && doc.progress.pages_total) {
      status.textContent = `processing: page ${doc.progress.pages_done} of ${doc.progress.pages_total}`;
    }
    row.querySelector(".pages").textContent = doc.status === "ready" ? doc.pages : "";
    row.lastElementChild.textContent = doc.created_at.slice(0, 16).replace("T", " ");
  }

  async function poll(row) {
    const doc = await api("GET", `/api/v1/documents/${row.dataset.id}/`);
    renderRow(row, doc);
    if (doc.status === "processing") setTimeout(() => poll(row), 1000);
  }

  document.querySelectorAll("tr[data-status='processing']").forEach((row) => poll(row));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const file = fileInput.files[0];
    if (!file) {
      showError("Choose a file to upload.");
      return;
    }
    const data = new FormData();
    data.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/documents/");
    request.setRequestHeader("X-CSRFToken", csrfToken());
    progress.hidden = false;
    request.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      progressFill.style.width = `${percent}%`;
      progressLabel.textContent = `Uploading ${percent}%`;
    };
    request.onload = () => {
      progress.hidden = true;
      const body = JSON.parse(request.responseText || "{}");
      if (request.status !== 201) {
        showError(body.error ? body.error.message : `Upload failed (${request.status}).`);
        return;
      }
      const empty = tbody.querySelector("tr.empty");
      if (empty) empty.remove();
      const row = document.createElement("tr");
      tbody.prepend(row);
      renderRow(row, body);
      form.reset();
      if (body.status === "processing") setTimeout(() => poll(row), 800);
    };
    request.onerror = () => {
      progress.hidden = true;
      showError("The upload was interrupted. Check the connection and try again.");
    };
    request.send(data);
  });
})();
