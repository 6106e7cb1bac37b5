/**
 * Redaction of a secret (the Airtable token) from text that may reach a
 * model, a log or an error result. Only whole occurrences are replaced: a
 * plain text replace of a short secret would garble ordinary words (a token
 * "SOCKE" turned `UND_ERR_SOCKET` into `UND_ERR_[token]T`) and, by where it
 * struck, hint at what the secret is.
 */

/** Characters that continue a token-like word; an occurrence next to one is part of another word. */
const WORD_CHAR = '[A-Za-z0-9_-]';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A matcher for whole occurrences of `secret`; only edges that are word characters need a boundary. */
function wholeOccurrences(secret: string): RegExp {
  const before = new RegExp(`^${WORD_CHAR}`).test(secret) ? `(?<!${WORD_CHAR})` : '';
  const after = new RegExp(`${WORD_CHAR}$`).test(secret) ? `(?!${WORD_CHAR})` : '';
  return new RegExp(`${before}${escapeRegExp(secret)}${after}`, 'g');
}

/** `text` with every whole occurrence of `secret` replaced by `replacement`; unchanged for an empty secret. */
export function redactSecret(text: string, secret: string, replacement = '[token]'): string {
  if (!secret || !text.includes(secret)) return text;
  return text.replace(wholeOccurrences(secret), () => replacement);
}
