// The sandbox chat page: one conversation per test user and a group, the bot's replies as
// they arrive, buttons, the Bot API traffic and the webhook. It long-polls the emulator's
// /sandbox/ui/ routes (each answer comes when something changed), so nothing reloads.
"use strict";

const API = "/sandbox/ui/bots";
const MAX_CALLS = 300;

const state = {
  botId: null,
  users: [],
  group: null,
  chatId: null,
  speakerId: null,
  version: -1,
  callsAfter: 0,
  calls: [],
  seen: {},
  seenSet: false,
  pendingQueries: new Set(),
  hiddenKeyboard: null,
  request: null,
};

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function postJson(path, body) {
  const response = await fetch(`${API}/${state.botId}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!answer.ok) throw new Error(answer.description);
  return answer.result;
}

function showToast(text, alert) {
  const toast = $("toast");
  toast.textContent = text;
  toast.classList.toggle("alert", Boolean(alert));
  toast.hidden = false;
  clearTimeout(showToast.timer);
  showToast.timer = setTimeout(() => { toast.hidden = true; }, alert ? 8000 : 3000);
}

// -- waiting for the bot, then long polling ------------------------------------------------

async function waitForBot() {
  let known = 0;
  for (;;) {
    try {
      const response = await fetch(`${API}?known=${known}`);
      const bots = (await response.json()).result;
      if (bots.length > 0) return bots[bots.length - 1];
      known = bots.length;
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the emulator is restarting
    }
  }
}

async function poll() {
  for (;;) {
    state.request = new AbortController();
    const query = new URLSearchParams({
      chat: state.chatId, version: state.version, calls_after: state.callsAfter,
    });
    try {
      const response = await fetch(`${API}/${state.botId}/view?${query}`, {
        signal: state.request.signal,
      });
      const answer = await response.json();
      if (answer.ok && answer.result.chat === state.chatId) render(answer.result);
      document.body.classList.remove("disconnected");
    } catch (error) {
      if (error.name !== "AbortError") {
        document.body.classList.add("disconnected");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}

function switchChat(chatId) {
  state.chatId = chatId;
  state.version = -1;
  state.hiddenKeyboard = null;
  $("messages").replaceChildren();
  if (state.request) state.request.abort(); // poll() asks again at once, for this chat
}

// -- rendering -----------------------------------------------------------------------------

function render(view) {
  if (view.version < state.version) {
    // A new emulator (the sandbox was restarted): its calls are numbered from 1 again.
    state.calls = [];
    state.callsAfter = 0;
  }
  state.version = view.version;
  state.users = view.users;
  state.group = view.group;
  $("bot-name").textContent = `@${view.bot.username}`;
  $("mode").textContent = view.webhook.url ? "webhook" : "polling";
  renderConversations(view);
  renderTimeline(view);
  renderReplyKeyboard(view.reply_keyboard);
  $("blocked").hidden = !view.blocked;
  renderCommands(view.commands);
  renderWebhook(view.webhook);
  addCalls(view.calls);
  showAnswers(view.answers);
  renderRecording(view.recording);
}

function conversations() {
  const list = state.users.map((user) => ({ id: user.id, title: user.first_name }));
  if (state.group) list.push({ id: state.group.id, title: state.group.title });
  return list;
}

function renderConversations(view) {
  const last = Object.fromEntries(view.chats.map((chat) => [chat.id, chat.last_message_id]));
  if (!state.seenSet) {
    state.seen = { ...last }; // what was there when the page opened counts as seen
    state.seenSet = true;
  }
  state.seen[state.chatId] = last[state.chatId] || 0;
  const items = conversations().map((chat) => {
    const item = element("li");
    const button = element("button", "conversation", chat.title);
    button.type = "button";
    button.setAttribute("aria-current", String(chat.id === state.chatId));
    if ((last[chat.id] || 0) > (state.seen[chat.id] || 0)) button.classList.add("unread");
    button.addEventListener("click", () => switchChat(chat.id));
    item.appendChild(button);
    return item;
  });
  $("conversations").replaceChildren(...items);
  const current = conversations().find((chat) => chat.id === state.chatId);
  $("chat-title").textContent = current ? current.title : "";
  const inGroup = state.group && state.chatId === state.group.id;
  $("speaker-label").hidden = !inGroup;
  if (inGroup && $("speaker").options.length === 0) {
    for (const user of state.users) {
      $("speaker").appendChild(new Option(user.first_name, user.id));
    }
  }
  state.speakerId = inGroup ? Number($("speaker").value) : state.chatId;
}

function renderTimeline(view) {
  const list = $("messages");
  const existing = new Map([...list.children].map((node) => [node.dataset.key, node]));
  const wanted = view.timeline.map((item) => {
    const key = item.kind === "message" ? `m${item.message_id}` : `e${item.seq}`;
    const stamp = JSON.stringify(item.kind === "message"
      ? [item.text, item.entities, item.reply_markup, item.edit_date] : item.description);
    const old = existing.get(key);
    if (old && old.dataset.stamp === stamp) return old;
    const node = item.kind === "message" ? messageNode(item, view) : errorNode(item);
    node.dataset.key = key;
    node.dataset.stamp = stamp;
    return node;
  });
  const grew = wanted.length > list.children.length;
  list.replaceChildren(...wanted);
  if (grew) list.lastElementChild.scrollIntoView({ block: "end" });
}

function messageNode(message, view) {
  const fromBot = message.from.id === view.bot.id;
  const node = element("li", `message ${fromBot ? "from-bot" : "from-user"}`);
  node.dataset.messageId = message.message_id;
  if (!fromBot && message.chat.type !== "private") {
    node.appendChild(element("div", "sender", message.from.first_name));
  }
  const text = element("div", "text");
  text.appendChild(window.formatMessage(message.text, message.entities, sendText));
  node.appendChild(text);
  const keyboard = message.reply_markup && message.reply_markup.inline_keyboard;
  if (keyboard) node.appendChild(inlineKeyboard(message, keyboard));
  const time = new Date(message.date * 1000).toLocaleTimeString([], {
    hour: "2-digit", minute: "2-digit",
  });
  node.appendChild(element("div", "meta", message.edit_date ? `edited ${time}` : time));
  return node;
}

function inlineKeyboard(message, rows) {
  const keyboard = element("div", "inline-keyboard");
  for (const row of rows) {
    const line = element("div", "row");
    for (const key of row) {
      if (key.url) {
        const link = element("a", "button", key.text);
        link.href = key.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        line.appendChild(link);
        continue;
      }
      const button = element("button", "inline-button", key.text);
      button.type = "button";
      button.addEventListener("click", () => pressButton(message, key));
      line.appendChild(button);
    }
    keyboard.appendChild(line);
  }
  return keyboard;
}

function errorNode(call) {
  const text = `${call.method} failed: ${call.error_code} ${call.description}`;
  return element("li", "notice error", text);
}

function renderReplyKeyboard(markup) {
  const area = $("reply-keyboard");
  const stamp = JSON.stringify(markup);
  if (!markup || state.hiddenKeyboard === stamp) {
    area.replaceChildren();
    return;
  }
  if (area.dataset.stamp === stamp && area.children.length) return;
  area.dataset.stamp = stamp;
  const rows = markup.keyboard.map((row) => {
    const line = element("div", "row");
    for (const key of row) {
      const label = typeof key === "string" ? key : key.text;
      const button = element("button", "reply-key", label);
      button.type = "button";
      button.addEventListener("click", () => {
        if (markup.one_time_keyboard) state.hiddenKeyboard = stamp;
        sendText(label, true);
      });
      line.appendChild(button);
    }
    return line;
  });
  area.replaceChildren(...rows);
}

function renderCommands(commands) {
  const options = commands.map((command) => {
    const option = new Option(command.description, `/${command.command}`);
    option.label = `/${command.command} - ${command.description}`;
    return option;
  });
  $("commands").replaceChildren(...options);
}

function renderWebhook(webhook) {
  const facts = [["URL", webhook.url || "none (the bot polls)"]];
  if (webhook.url) {
    facts.push(["secret", webhook.has_secret ? "set" : "not set"]);
    facts.push(["max connections", String(webhook.max_connections)]);
  }
  facts.push(["pending updates", String(webhook.pending_update_count)]);
  if (webhook.last_error_message) {
    const when = new Date(webhook.last_error_date * 1000).toLocaleTimeString();
    facts.push(["last error", `${webhook.last_error_message} (${when})`]);
  }
  const list = $("webhook");
  list.replaceChildren();
  for (const [name, value] of facts) {
    list.appendChild(element("dt", "", name));
    list.appendChild(element("dd", name === "last error" ? "failed" : "", value));
  }
  $("deliveries").replaceChildren(...webhook.deliveries.slice().reverse().map((d) => {
    const outcome = d.error || (d.status === null ? "in flight" : `${d.status}`);
    const time = d.duration_ms === null ? "" : ` ${d.duration_ms} ms`;
    return element("li", d.error ? "failed" : "", `update ${d.update_id}: ${outcome}${time}`);
  }));
}

function addCalls(calls) {
  if (calls.length === 0) return;
  state.callsAfter = calls[calls.length - 1].seq;
  state.calls = state.calls.concat(calls).slice(-MAX_CALLS);
  renderCalls();
}

function renderCalls() {
  const showPolling = $("show-polling").checked;
  const shown = state.calls.filter((call) => showPolling || call.method !== "getUpdates");
  $("calls").replaceChildren(...shown.slice().reverse().map(callNode));
}

function callNode(call) {
  const node = element("li", `call ${call.ok ? "ok" : "failed"}`);
  const details = element("details");
  const summary = element("summary");
  summary.appendChild(element("span", "method", call.method));
  summary.appendChild(element("span", "status", call.ok ? "ok" : String(call.error_code)));
  summary.appendChild(element("span", "time", `${call.duration_ms} ms`));
  if (!call.ok) summary.appendChild(element("span", "description", call.description));
  if (call.via !== "http") summary.appendChild(element("span", "via", call.via));
  details.appendChild(summary);
  details.appendChild(element("pre", "params", JSON.stringify(call.params, null, 2)));
  const outcome = call.ok ? call.result : { error_code: call.error_code, description: call.description };
  details.appendChild(element("pre", "result", JSON.stringify(outcome, null, 2)));
  node.appendChild(details);
  return node;
}

function showAnswers(answers) {
  for (const id of [...state.pendingQueries]) {
    const answer = answers[id];
    if (!answer) continue;
    state.pendingQueries.delete(id);
    if (answer.text) showToast(answer.text, answer.show_alert);
  }
}

function renderRecording(recording) {
  const button = $("record");
  button.setAttribute("aria-pressed", String(recording.on));
  button.textContent = recording.on ? "\u25A0 Stop" : "\u25CF Record";
  $("record-status").textContent = recording.on || recording.steps
    ? `${recording.steps} step${recording.steps === 1 ? "" : "s"} recorded` : "";
  const exportLink = $("export");
  exportLink.hidden = recording.on || recording.steps === 0;
  exportLink.href = `${API}/${state.botId}/recording.py`;
}

// -- what the user does --------------------------------------------------------------------

async function sendText(text, fromKeyboard) {
  try {
    await postJson("send", {
      chat_id: state.chatId, user_id: state.speakerId, text, keyboard: Boolean(fromKeyboard),
    });
  } catch (error) {
    showToast(`Not sent: ${error.message}`, true);
  }
}

async function pressButton(message, key) {
  try {
    const update = await postJson("press", {
      chat_id: message.chat.id,
      message_id: message.message_id,
      callback_data: key.callback_data,
      user_id: state.speakerId,
      text: key.text,
    });
    state.pendingQueries.add(update.callback_query.id);
  } catch (error) {
    showToast(error.message, true);
  }
}

function setUp() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    sendText(text, false);
  });
  $("speaker").addEventListener("change", () => { state.speakerId = Number($("speaker").value); });
  $("show-polling").addEventListener("change", renderCalls);
  $("record").addEventListener("click", async () => {
    const on = $("record").getAttribute("aria-pressed") !== "true";
    try {
      await postJson("recording", { on });
    } catch (error) {
      showToast(error.message, true);
    }
  });
  $("toast").addEventListener("click", () => { $("toast").hidden = true; });
}

async function main() {
  setUp();
  const bot = await waitForBot();
  state.botId = bot.id;
  $("waiting").hidden = true;
  $("text").disabled = false;
  $("send").disabled = false;
  state.chatId = 1001;
  poll();
}

main();
