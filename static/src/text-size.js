// The reader's text size for the terminal, stepped by the A− and A+
// controls of the full page and of the widget, and kept in localStorage
// (iexbox.textSize, docs/embedding.md) so that a reload, and every console
// of the same site, keeps it.

import { TEXT_SIZE_KEY, loadLocal, saveLocal } from './resume.js';

/** The sizes, in CSS pixels, that A− and A+ step through. */
export const TEXT_SIZES = [11, 12, 13, 14, 16, 18, 20, 24, 28];

/** The kept size, or fallback when none (or no valid one) is kept. */
export function keptTextSize(fallback) {
  const saved = Number(loadLocal(TEXT_SIZE_KEY));
  return TEXT_SIZES.includes(saved) ? saved : fallback;
}

/** The size one step (dir = 1 or -1) from now, kept for next time. */
export function stepTextSize(now, dir) {
  let i = TEXT_SIZES.findIndex((s) => s >= now);
  if (i < 0) i = TEXT_SIZES.length - 1;
  const next = TEXT_SIZES[Math.min(Math.max(i + dir, 0), TEXT_SIZES.length - 1)];
  saveLocal(TEXT_SIZE_KEY, String(next));
  return next;
}
