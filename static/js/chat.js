"use strict";

(function () {
  const root = document.getElementById("viewer");
  const documentId = Number(root.dataset.documentId);
  let conversationId = root.dataset.conversationId ? Number(root.dataset.conversationId) : null;
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const stopButton = document.getElementById("stop-button");
  const summarizeButton = document.getElementById("summarize-button");
  const tokensLine = document.getElementById("tokens-line");

  // Per answer: its element, citations by number and the last sequence seen.
  const answers = new Map();
  let socket = null;
  let socketReady = null;
  let streamingId = null;

  if (document.getElementById("document-processing")) {
    const check = async () => {
      const doc = await api("GET", `/api/v1/documents/${documentId}/`);
      if (doc.status !== "processing") window.location.reload();
      else setTimeout(check, 1000);
    };
    setTimeout(check, 1000);
  }

  function addBubble(role, text) {
    const item = document.createElement("article");
    item.className = `message message-${role}`;
    const body = document.createElement("div");
    body.className = "message-body";
    body.textContent = text || "";
    item.appendChild(body);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function answerFor(id) {
    let state = answers.get(id);
    if (!state) {
      const element = addBubble("assistant", "");
      element.dataset.messageId = id;
      const meta = document.createElement("div");
      meta.className = "message-meta";
      element.appendChild(meta);
      state = { element, text: "", citations: new Map(), seq: 0 };
      answers.set(id, state);
    }
    return state;
  }

  // Text while streaming: escaped, with citation marks made clickable.
  function renderStreaming(state) {
    const body = state.element.querySelector(".message-body");
    body.textContent = "";
    const parts = state.text.split(/(\[\d{1,3}\])/);
    for (const part of parts) {
      const mark = part.match(/^\[(\d{1,3})\]$/);
      if (mark) {
        const link = document.createElement("a");
        link.className = "cite";
        link.href = `#cite-${mark[1]}`;
        link.dataset.cite = mark[1];
        link.textContent = part;
        body.appendChild(link);
      } else {
        body.appendChild(document.createTextNode(part));
      }
    }
    body.classList.add("streaming");
    log.scrollTop = log.scrollHeight;
  }

  function setMeta(state, text) {
    state.element.querySelector(".message-meta").textContent = text;
  }

  function renderFinal(state, message) {
    const body = state.element.querySelector(".message-body");
    body.classList.remove("streaming");
    // The server renders Markdown and sanitizes it before sending.
    body.innerHTML = message.html;
    state.citations = new Map(message.citations.map((c) => [String(c.number), c]));
    const parts = [];
    if (message.engine) parts.push(message.engine === "offline" ? "offline engine" : message.model);
    if (message.coverage) parts.push(message.coverage);
    if (message.status !== "complete") parts.push(message.status);
    if (message.error) parts.push(message.error.message);
    setMeta(state, parts.join(" · "));
    state.element.classList.toggle("message-failed", message.status === "failed");
  }

  function renderHistory() {
    const initial = JSON.parse(document.getElementById("initial-messages").textContent);
    for (const message of initial) {
      if (message.role === "user") {
        addBubble("user", message.content);
        continue;
      }
      const state = answerFor(message.id);
      state.text = message.content;
      state.seq = message.last_seq;
      if (message.status === "streaming") {
        renderStreaming(state);
        follow(message.id, message.last_seq);
      } else {
        renderFinal(state, message);
      }
    }
  }

  function openSocket() {
    if (socket && socket.readyState <= WebSocket.OPEN) return socketReady;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/conversations/${conversationId}/`);
    socketReady = new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(socket), { once: true });
      socket.addEventListener("error", () => reject(new Error("The chat connection failed.")), { once: true });
    });
    socket.addEventListener("message", (event) => handleFrame(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      // Reconnect and pick the answer up where it stopped.
      if (streamingId !== null) {
        const state = answers.get(streamingId);
        setTimeout(() => follow(streamingId, state ? state.seq : 0), 1000);
      }
    });
    return socketReady;
  }

  async function follow(messageId, after) {
    streamingId = messageId;
    stopButton.hidden = false;
    const ws = await openSocket();
    ws.send(JSON.stringify({ type: "follow", message_id: messageId, after }));
  }

  async function refreshUsage() {
    try {
      const usage = await api("GET", "/api/v1/usage/");
      tokensLine.textContent = `${usage.tokens.toLocaleString("en-US")} tokens used this month`;
    } catch (error) {
      // The usage line is informative only; keep the old figure.
    }
  }

  async function handleFrame(frame) {
    if (frame.type === "error" && !frame.message_id) {
      showError(frame.message);
      return;
    }
    const state = answerFor(frame.message_id);
    if (frame.seq) state.seq = Math.max(state.seq, frame.seq);
    if (frame.type === "start") {
      streamingId = frame.message_id;
      stopButton.hidden = false;
      setMeta(state, frame.engine === "offline" ? "offline engine · answering…" : `${frame.model} · answering…`);
    } else if (frame.type === "delta") {
      state.text = frame.replace ? frame.text : state.text + frame.text;
      renderStreaming(state);
    } else if (frame.type === "citation") {
      state.citations.set(String(frame.number), frame);
    } else if (frame.type === "error") {
      setMeta(state, frame.message);
    } else if (frame.type === "done") {
      streamingId = null;
      stopButton.hidden = true;
      const message = await api("GET", `/api/v1/messages/${frame.message_id}/`);
      renderFinal(state, message);
      refreshUsage();
    }
  }

  function showError(message) {
    const item = addBubble("error", message);
    item.classList.add("message-failed");
  }

  async function ensureConversation() {
    if (conversationId) return;
    const conversation = await api("POST", "/api/v1/conversations/", { document_ids: [documentId] });
    conversationId = conversation.id;
    root.dataset.conversationId = conversationId;
  }

  async function send(action, content) {
    try {
      await ensureConversation();
      const ws = await openSocket();
      if (content) addBubble("user", content);
      ws.send(JSON.stringify({ type: "ask", action, content }));
    } catch (error) {
      showError(error.message);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    input.value = "";
    send("ask", content);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  summarizeButton.addEventListener("click", () => send("summarize", ""));
  stopButton.addEventListener("click", () => {
    if (streamingId !== null && socket) socket.send(JSON.stringify({ type: "stop", message_id: streamingId }));
  });

  // Citations: scroll the text to the quoted passage and highlight it.
  function utf16Offset(text, codePoints) {
    let index = 0;
    let count = 0;
    while (count < codePoints && index < text.length) {
      const code = text.codePointAt(index);
      index += code > 0xffff ? 2 : 1;
      count += 1;
    }
    return index;
  }

  function clearHighlights() {
    document.querySelectorAll("mark.highlight").forEach((mark) => {
      const parent = mark.parentNode;
      parent.replaceChild(document.createTextNode(mark.textContent), mark);
      parent.normalize();
    });
  }

  // Pages past the first few hundred thousand characters arrive empty and
  // load from the API when they scroll into view or a citation needs them.
  const loading = new Map();

  function loadPages(number) {
    if (loading.has(number)) return loading.get(number);
    const promise = api("GET", `/api/v1/documents/${documentId}/pages/?start=${number}&count=10`).then((data) => {
      for (const page of data.pages) {
        const section = document.querySelector(`#document-text .page[data-page="${page.number}"]`);
        if (!section || !section.dataset.lazy) continue;
        section.querySelector(".page-text").textContent = page.text;
        delete section.dataset.lazy;
      }
    });
    for (let n = number; n < number + 10; n += 1) loading.set(n, promise);
    return promise;
  }

  const lazyObserver = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting && entry.target.dataset.lazy) loadPages(Number(entry.target.dataset.page));
    }
  }, { rootMargin: "400px" });
  document.querySelectorAll("#document-text .page[data-lazy]").forEach((section) => lazyObserver.observe(section));

  async function highlight(citation) {
    if (citation.document_id !== documentId) return;
    const needed = Array.from(document.querySelectorAll("#document-text .page[data-lazy]")).filter((section) => {
      const next = section.nextElementSibling;
      const end = next ? Number(next.dataset.start) : Infinity;
      return Number(section.dataset.start) < citation.end && citation.start < end;
    });
    await Promise.all(needed.map((section) => loadPages(Number(section.dataset.page))));
    clearHighlights();
    const pages = Array.from(document.querySelectorAll("#document-text .page"));
    let first = null;
    for (const page of pages) {
      const node = page.querySelector(".page-text");
      const text = node.textContent;
      const pageStart = Number(page.dataset.start);
      const pageLength = Array.from(text).length;
      const from = Math.max(citation.start, pageStart) - pageStart;
      const to = Math.min(citation.end, pageStart + pageLength) - pageStart;
      if (to <= from) continue;
      const range = document.createRange();
      const textNode = node.firstChild;
      if (!textNode) continue;
      range.setStart(textNode, utf16Offset(text, from));
      range.setEnd(textNode, utf16Offset(text, to));
      const mark = document.createElement("mark");
      mark.className = "highlight";
      range.surroundContents(mark);
      first = first || mark;
    }
    if (first) first.scrollIntoView({ behavior: "smooth", block: "center" });
  }

  log.addEventListener("click", (event) => {
    const link = event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    const element = link.closest(".message");
    const state = answers.get(Number(element.dataset.messageId));
    const citation = state && state.citations.get(link.dataset.cite);
    if (citation) highlight(citation);
  });

  renderHistory();
})();
