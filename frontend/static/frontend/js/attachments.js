// Photos and voice clips of a question, for the student's question page and the teacher's duty
// console: thumbnails that open the full photo, playable clips, and what could not be processed.

import { format } from "./page.js";


function attachmentKey(attachment) {
  return [attachment.status, attachment.url, attachment.thumbnail_url, attachment.error].join("|");
}

function note(text, className = "media-note") {
  const element = document.createElement("p");
  element.className = className;
  element.textContent = text;
  return element;
}

function photoItem(attachment, number, labels) {
  const item = document.createElement("li");
  item.className = "photo";
  if (attachment.thumbnail_url) {
    const link = document.createElement("a");
    link.href = attachment.url || attachment.thumbnail_url;
    link.target = "_blank";
    link.rel = "noopener";
    link.setAttribute("aria-label", format(labels.openPhoto, { number }));
    const image = document.createElement("img");
    image.src = attachment.thumbnail_url;
    image.alt = format(labels.photoAlt, { number });
    image.decoding = "async";
    if (attachment.width && attachment.height) image.style.aspectRatio = `${attachment.width} / ${attachment.height}`;
    link.append(image);
    item.append(link);
  } else {
    const placeholder = document.createElement("div");
    placeholder.className = "photo-placeholder";
    placeholder.dataset.status = attachment.status;
    placeholder.textContent = attachment.status === "pending" ? labels.photoPending : labels.photoFailed;
    item.append(placeholder);
  }
  if (attachment.status === "failed" && attachment.error) {
    item.append(note(format(labels.recognitionError, { reason: attachment.error })));
  }
  return item;
}

function voiceItem(attachment, labels) {
  const item = document.createElement("div");
  item.className = "voice";
  if (attachment.url) {
    const label = attachment.duration_seconds
      ? format(labels.voiceDuration, { seconds: Math.round(attachment.duration_seconds) })
      : labels.voiceLabel;
    item.append(note(label, "clip-caption"));
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = attachment.url;
    audio.setAttribute("aria-label", label);
    item.append(audio);
  } else {
    item.append(note(attachment.status === "pending" ? labels.voicePending : labels.voiceFailed));
  }
  if (attachment.status === "failed" && attachment.error) {
    item.append(note(format(labels.recognitionError, { reason: attachment.error })));
  }
  return item;
}

// Replace only what changed, so a playing voice clip or a loaded photo is left alone.
function reconcile(container, attachments, build) {
  const existing = new Map(Array.from(container.children, (child) => [child.dataset.id, child]));
  const children = attachments.map((attachment, index) => {
    const key = attachmentKey(attachment);
    const current = existing.get(String(attachment.id));
    if (current && current.dataset.key === key) return current;
    const element = build(attachment, index + 1);
    element.dataset.id = String(attachment.id);
    element.dataset.key = key;
    return element;
  });
  const same = children.length === container.children.length && children.every((c, i) => container.children[i] === c);
  if (!same) container.replaceChildren(...children);
}

/** Show the attachments in `photoList` and `voiceBox` (hidden when empty); returns how many there are. */
export function renderAttachments({ photoList, voiceBox }, attachments, labels) {
  const photos = attachments.filter((attachment) => attachment.kind === "photo");
  const voices = attachments.filter((attachment) => attachment.kind === "voice");
  reconcile(photoList, photos, (attachment, number) => photoItem(attachment, number, labels));
  reconcile(voiceBox, voices, (attachment) => voiceItem(attachment, labels));
  photoList.hidden = photos.length === 0;
  voiceBox.hidden = voices.length === 0;
  return attachments.length;
}
