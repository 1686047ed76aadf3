import { countTokens, isWithinTokenLimit } from 'gpt-tokenizer/encoding/o200k_base';

export interface Chunk {
  /** Position in the document, from 0. */
  ordinal: number;
  text: string;
  /** Exact o200k_base token count of text. */
  tokens: number;
  /** The nearest heading above the chunk, or null before the first one. */
  heading: string | null;
}

export interface ChunkOptions {
  /** Most tokens in a chunk. */
  chunkSize: number;
  /** About how many tokens of a chunk's tail open the next chunk of the same section. */
  chunkOverlap: number;
}

export const MIN_CHUNK_SIZE = 32;
export const MAX_CHUNK_SIZE = 8192;

// Documents may quote special-token strings such as <|endoftext|>; here they are ordinary text.
const PLAIN = { disallowedSpecial: new Set<string>() };
/** The tokens of a text, as chunk sizes count them. */
export const tokensOf = (text: string): number => countTokens(text, PLAIN);
const fits = (text: string, limit: number): number | false => isWithinTokenLimit(text, limit, PLAIN);

const HEADING = /^(#{1,6}) (.+?)(?: #+)?$/;
const FENCE = /^(?:```|~~~)/;

interface Section {
  heading: string | null;
  /** Paragraphs, the heading line first. */
  blocks: string[];
}

/** A run of text that is never split further, and what joins it to the piece before it. */
interface Piece {
  text: string;
  tokens: number;
  separator: string;
}

/**
 * Splits text into chunks of at most chunkSize tokens for embedding and search.
 *
 * Sections open at markdown `#` headings and a heading always starts a new chunk, so no chunk spans
 * two sections; a heading with nothing under it before the next heading is kept with that next
 * section rather than left alone. Within a section whole paragraphs are packed greedily; a paragraph
 * too long for a chunk is split at line breaks, then sentences, then words, and at token boundaries
 * only as a last resort. Each chunk after the first in a section opens with the previous chunk's
 * last ~chunkOverlap tokens, from a sentence start where that keeps at least half of them, else
 * from a word start; the overlap shrinks when the text that follows would not fit with it.
 * Whitespace is normalised: single spaces, trimmed lines, one blank line between paragraphs.
 */
export function chunkText(text: string, options: ChunkOptions): Chunk[] {
  const { chunkSize, chunkOverlap } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap * 2 >= chunkSize) {
    throw new RangeError(`chunkOverlap must be an integer from 0 to below half of chunkSize, got ${chunkOverlap}`);
  }
  const chunks: Chunk[] = [];
  for (const section of sectionsOf(text)) packSection(section, options, chunks);
  return chunks;
}

function sectionsOf(text: string): Section[] {
  const sections: Section[] = [];
  let current: Section = { heading: null, blocks: [] };
  let paragraph: string[] = [];
  let fenced = false;
  const endParagraph = (): void => {
    if (paragraph.length > 0) current.blocks.push(paragraph.join('\n'));
    paragraph = [];
  };
  for (const raw of text.split(/\r\n?|\n/)) {
    const line = raw.replace(/\s+/g, ' ').trim();
    // A `#` line inside a code block is a comment, not a heading.
    if (FENCE.test(line)) fenced = !fenced;
    const heading = fenced ? null : HEADING.exec(line);
    if (heading) {
      endParagraph();
      sections.push(current);
      current = { heading: heading[2], blocks: [line] };
    } else if (line) {
      paragraph.push(line);
    } else {
      endParagraph();
    }
  }
  endParagraph();
  sections.push(current);

  const merged: Section[] = [];
  let pending: string[] = [];
  sections.forEach((section, i) => {
    const blocks = [...pending, ...section.blocks];
    const headingOnly = section.heading !== null && section.blocks.length === 1;
    pending = headingOnly && i < sections.length - 1 ? blocks : [];
    if (pending.length === 0 && blocks.length > 0) merged.push({ heading: section.heading, blocks });
  });
  return merged;
}

function packSection(section: Section, { chunkSize, chunkOverlap }: ChunkOptions, chunks: Chunk[]): void {
  // Split pieces leave room for a full overlap; a paragraph that fits a chunk is kept whole regardless.
  const pieces = section.blocks.flatMap((block) => {
    const tokens = fits(block, chunkSize);
    return tokens === false
      ? split(block, '\n\n', chunkSize - chunkOverlap)
      : [{ text: block, tokens, separator: '\n\n' }];
  });
  let previous: string | null = null;
  let next = 0;
  while (next < pieces.length) {
    const first = pieces[next];
    let overlap = previous === null ? null : tailOf(previous, Math.min(chunkOverlap, chunkSize - cost(first)));
    let estimate = overlap === null ? first.tokens : overlap.tokens + cost(first);
    let end = next + 1;
    while (end < pieces.length && estimate + cost(pieces[end]) <= chunkSize) estimate += cost(pieces[end++]);
    let text = join(overlap, pieces.slice(next, end));
    let tokens = tokensOf(text);
    // The estimate ignores tokens merging across separators; back off in the rare case it was short.
    while (tokens > chunkSize && (end - next > 1 || overlap !== null)) {
      if (end - next > 1) end--;
      else overlap = null;
      text = join(overlap, pieces.slice(next, end));
      tokens = tokensOf(text);
    }
    chunks.push({ ordinal: chunks.length, text, tokens, heading: section.heading });
    previous = text;
    next = end;
  }
}

/** Tokens a piece adds after another: a newline separator is a token of its own, a space joins the next word's. */
const cost = (piece: Piece): number => piece.tokens + (piece.separator.includes('\n') ? 1 : 0);

function join(overlap: Piece | null, pieces: Piece[]): string {
  const parts = overlap === null ? [] : [overlap.text];
  pieces.forEach((piece, i) => parts.push(i === 0 && overlap === null ? piece.text : piece.separator + piece.text));
  return parts.join('');
}

/** Line breaks, then sentence ends, then spaces: each tried only where the coarser one left a piece too long. */
const BOUNDARIES = [/\n/g, /(?<=[.!?…]['"’”)\]]*) |(?<=[。！？])(?=.)/gu, / /g];

function split(text: string, separator: string, limit: number, level = 0): Piece[] {
  const tokens = fits(text, limit);
  if (tokens !== false) return [{ text, tokens, separator }];
  if (level === BOUNDARIES.length) {
    return splitByTokens(text, limit).map((part, i) => ({
      text: part,
      tokens: tokensOf(part),
      separator: i === 0 ? separator : '',
    }));
  }
  return splitAt(text, BOUNDARIES[level]).flatMap((part, i) =>
    split(part.text, i === 0 ? separator : part.separator, limit, level + 1),
  );
}

/** The text between matches of boundary, each with the match that preceded it. */
function splitAt(text: string, boundary: RegExp): { text: string; separator: string }[] {
  const parts: { text: string; separator: string }[] = [];
  let start = 0;
  let separator = '';
  for (const match of text.matchAll(boundary)) {
    if (match.index > start) parts.push({ text: text.slice(start, match.index), separator });
    separator = match[0];
    start = match.index + match[0].length;
  }
  if (start < text.length) parts.push({ text: text.slice(start), separator });
  return parts;
}

/** Cuts a run with no usable boundary (a long URL, base64, unspaced script) into the longest fitting prefixes. */
function splitByTokens(text: string, limit: number): string[] {
  const chars = Array.from(text);
  const parts: string[] = [];
  let start = 0;
  while (start < chars.length) {
    // Gallop to a prefix that does not fit, then bisect; one character always fits.
    const fitsUpTo = (end: number): boolean => fits(chars.slice(start, end).join(''), limit) !== false;
    let low = start + 1;
    let high = Math.min(chars.length, start + limit);
    while (high < chars.length && fitsUpTo(high)) {
      low = high;
      high = Math.min(chars.length, start + 2 * (high - start));
    }
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (fitsUpTo(middle)) low = middle;
      else high = middle - 1;
    }
    parts.push(chars.slice(start, low).join(''));
    start = low;
  }
  return parts;
}

/**
 * The longest tail of text within budget tokens, starting at a sentence if that keeps at least half
 * the budget, else at a word, else (text with no spaces) at any character.
 */
function tailOf(text: string, budget: number): Piece | null {
  if (budget <= 0) return null;
  const words: number[] = [];
  const sentences: number[] = [];
  for (const match of text.matchAll(/\s(?=\S)/g)) {
    const start = match.index + 1;
    words.push(start);
    if (match[0] === '\n' || /[.!?…。！？]['"’”)\]]*$/.test(text.slice(Math.max(0, match.index - 4), match.index))) {
      sentences.push(start);
    }
  }
  const sentence = longestTail(text, sentences, budget);
  if (sentence && sentence.tokens * 2 >= budget) return sentence;
  const word = longestTail(text, words, budget);
  if (word || sentence) return word ?? sentence;
  const characters = Array.from(text.matchAll(/(?!$)/gu), (match) => match.index).slice(1);
  return longestTail(text, characters, budget);
}

/** Tails only shrink as their start moves right, so the first start that fits is found by bisection. */
function longestTail(text: string, starts: number[], budget: number): Piece | null {
  let low = 0;
  let high = starts.length;
  let best: Piece | null = null;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const tail = text.slice(starts[middle]);
    const tokens = fits(tail, budget);
    if (tokens === false) {
      low = middle + 1;
    } else {
      best = { text: tail, tokens, separator: '' };
      high = middle;
    }
  }
  return best;
}
