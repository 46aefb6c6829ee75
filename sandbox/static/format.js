// Telegram's message entities as DOM nodes: the text and its entities, rendered the way a
// Telegram client shows them. Offsets and lengths are in UTF-16 code units, which is what a
// JavaScript string is indexed by, so no conversion is needed. Nodes are built with
// createElement and text nodes (never innerHTML), so no message can inject markup.
"use strict";

const ENTITY_TAGS = {
  bold: "b",
  italic: "i",
  underline: "u",
  strikethrough: "s",
  code: "code",
  pre: "pre",
  spoiler: "span",
  blockquote: "blockquote",
  expandable_blockquote: "blockquote",
  text_link: "a",
  url: "a",
  text_mention: "span",
  mention: "span",
  hashtag: "span",
  cashtag: "span",
  bot_command: "a",
  email: "a",
  custom_emoji: "span",
};

// Renders text[start, end) with the entities that lie inside it (sorted, outer first).
function renderRange(text, start, end, entities, onCommand) {
  const nodes = [];
  let position = start;
  let index = 0;
  while (index < entities.length) {
    const entity = entities[index];
    // Telegram nests entities; one that overlaps its predecessor is clipped to what is left.
    const entityStart = Math.max(entity.offset, position);
    const entityEnd = Math.min(entity.offset + entity.length, end);
    const inner = [];
    index += 1;
    // Everything that starts inside this entity is nested in it (clipped to it).
    while (index < entities.length && entities[index].offset < entityEnd) {
      inner.push(entities[index]);
      index += 1;
    }
    if (entityEnd <= entityStart) {
      continue;
    }
    if (entityStart > position) {
      nodes.push(document.createTextNode(text.slice(position, entityStart)));
    }
    const element = entityElement(entity, text.slice(entityStart, entityEnd), onCommand);
    for (const child of renderRange(text, entityStart, entityEnd, inner, onCommand)) {
      element.appendChild(child);
    }
    nodes.push(wrapPre(entity, element));
    position = entityEnd;
  }
  if (position < end) {
    nodes.push(document.createTextNode(text.slice(position, end)));
  }
  return nodes;
}

function entityElement(entity, covered, onCommand) {
  const element = document.createElement(ENTITY_TAGS[entity.type] || "span");
  element.className = `entity-${entity.type}`;
  if (entity.type === "text_link" || entity.type === "url") {
    element.href = entity.type === "url" ? covered : entity.url;
    element.target = "_blank";
    element.rel = "noopener noreferrer";
  } else if (entity.type === "email") {
    element.href = `mailto:${covered}`;
  } else if (entity.type === "bot_command") {
    // As in Telegram, a command in a message is a link that sends it.
    element.href = "#";
    element.addEventListener("click", (event) => {
      event.preventDefault();
      onCommand(covered);
    });
  } else if (entity.type === "spoiler") {
    element.title = "spoiler: click to reveal";
    element.addEventListener("click", () => element.classList.add("revealed"));
  } else if (entity.type === "pre" && entity.language) {
    element.dataset.language = entity.language;
  }
  return element;
}

function wrapPre(entity, element) {
  if (entity.type !== "pre") {
    return element;
  }
  // <pre><code class="language-x"> is how Telegram's HTML writes a pre with a language.
  const code = document.createElement("code");
  if (entity.language) {
    code.className = `language-${entity.language}`;
  }
  while (element.firstChild) {
    code.appendChild(element.firstChild);
  }
  element.appendChild(code);
  return element;
}

// A fragment with the formatted text of a message.
function formatMessage(text, entities, onCommand) {
  const sorted = [...(entities || [])].sort(
    (a, b) => a.offset - b.offset || b.length - a.length,
  );
  const fragment = document.createDocumentFragment();
  for (const node of renderRange(text || "", 0, (text || "").length, sorted, onCommand)) {
    fragment.appendChild(node);
  }
  return fragment;
}

window.formatMessage = formatMessage;
