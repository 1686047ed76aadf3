import { describe, expect, it } from '@jest/globals';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { type Chunk, chunkText } from './chunking.js';

const TOPICS = ['cache', 'queue', 'scheduler', 'billing ledger', 'gateway', 'search index', 'tenant router'];
/** Distinct, ordinary sentences of about a dozen tokens each. */
const sentence = (i: number): string =>
  `Sentence ${i} explains how the ${TOPICS[i % TOPICS.length]} behaves under load.`;
const paragraph = (from: number, count: number): string =>
  Array.from({ length: count }, (_, i) => sentence(from + i)).join(' ');
const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

/** The longest start of next that is also the end of previous: the repeated overlap. */
function overlapOf(previous: string, next: string): string {
  for (let length = Math.min(previous.length, next.length); length > 0; length--) {
    if (previous.endsWith(next.slice(0, length))) return next.slice(0, length);
  }
  return '';
}

function expectWellFormed(chunks: Chunk[], chunkSize: number): void {
  chunks.forEach((chunk, i) => {
    expect(chunk.ordinal).toBe(i);
    expect(chunk.text.trim()).not.toBe('');
    expect(chunk.tokens).toBe(countTokens(chunk.text));
    expect(chunk.tokens).toBeLessThanOrEqual(chunkSize);
    expect(chunk.text).toBe(chunk.text.trim());
    expect(chunk.text).not.toMatch(/ {2}|\t|\n{3}| \n|\n /);
  });
}

describe('chunkText', () => {
  it('packs paragraphs greedily into chunks no larger than chunkSize, with exact token counts', () => {
    const text = Array.from({ length: 12 }, (_, i) => paragraph(i * 3, 3)).join('\n\n');
    const chunks = chunkText(text, { chunkSize: 128, chunkOverlap: 0 });
    expectWellFormed(chunks, 128);
    expect(chunks.length).toBeGreaterThan(2);
    // Whole paragraphs, in order, nothing lost or repeated.
    expect(chunks.map((chunk) => chunk.text).join('\n\n')).toBe(text);
    // Greedy: no chunk would still have had room for the next paragraph.
    for (let i = 0; i + 1 < chunks.length; i++) {
      const nextParagraph = chunks[i + 1].text.split('\n\n')[0];
      expect(countTokens(`${chunks[i].text}\n\n${nextParagraph}`)).toBeGreaterThan(128);
    }
  });

  it('repeats about chunkOverlap tokens, from a sentence start, between chunks of a section', () => {
    const text = `# Operations\n\n${Array.from({ length: 8 }, (_, i) => paragraph(i * 4, 4)).join('\n\n')}`;
    const chunks = chunkText(text, { chunkSize: 96, chunkOverlap: 24 });
    expectWellFormed(chunks, 96);
    expect(chunks.length).toBeGreaterThan(3);
    const kept = words(chunks[0].text);
    for (let i = 1; i < chunks.length; i++) {
      const overlap = overlapOf(chunks[i - 1].text, chunks[i].text);
      expect(overlap).toMatch(/^Sentence \d+ /);
      expect(countTokens(overlap)).toBeGreaterThanOrEqual(12);
      expect(countTokens(overlap)).toBeLessThanOrEqual(24);
      // The overlap ends where the previous chunk ended; new text follows it.
      expect(chunks[i].text.length).toBeGreaterThan(overlap.length);
      kept.push(...words(chunks[i].text.slice(overlap.length)));
    }
    // Without the overlaps, the chunks are the document, word for word.
    expect(kept).toEqual(words(text));
  });

  it('starts a new chunk at every heading, with no overlap across it, and carries the heading', () => {
    const text = [
      'Preface text before any heading.',
      '# Setup',
      paragraph(0, 10),
      '## Install',
      paragraph(10, 3),
      '# Usage',
      paragraph(20, 2),
    ].join('\n\n');
    const chunks = chunkText(text, { chunkSize: 64, chunkOverlap: 16 });
    expectWellFormed(chunks, 64);
    expect(chunks[0]).toEqual({
      ordinal: 0,
      text: 'Preface text before any heading.',
      tokens: countTokens('Preface text before any heading.'),
      heading: null,
    });
    // Each section's chunks are contiguous, and the first one opens with the heading line.
    const headings = chunks.map((chunk) => chunk.heading);
    expect(headings.filter((heading, i) => i === 0 || heading !== headings[i - 1])).toEqual([
      null,
      'Setup',
      'Install',
      'Usage',
    ]);
    for (const [heading, line] of [
      ['Setup', '# Setup'],
      ['Install', '## Install'],
      ['Usage', '# Usage'],
    ]) {
      const first = chunks.findIndex((chunk) => chunk.heading === heading);
      expect(chunks[first].text.startsWith(`${line}\n\n`)).toBe(true);
      expect(overlapOf(chunks[first - 1].text, chunks[first].text)).toBe('');
      expect(chunks.filter((chunk) => chunk.text.includes(line))).toHaveLength(1);
    }
    expect(chunks.filter((chunk) => chunk.heading === 'Setup').length).toBeGreaterThan(1);
    expect(chunks.find((chunk) => chunk.text.includes(sentence(10)))?.heading).toBe('Install');
  });

  it('keeps a heading with nothing under it together with the next section', () => {
    const chunks = chunkText('# Guide\n\n## Install\n\nRun the installer.\n\n# Appendix', {
      chunkSize: 64,
      chunkOverlap: 0,
    });
    expect(chunks.map(({ text, heading }) => ({ text, heading }))).toEqual([
      { text: '# Guide\n\n## Install\n\nRun the installer.', heading: 'Install' },
      { text: '# Appendix', heading: 'Appendix' },
    ]);
  });

  it('does not take # lines inside a code fence for headings', () => {
    const chunks = chunkText('# Scripts\n\n```sh\n# install deps\nnpm ci\n```', { chunkSize: 64, chunkOverlap: 0 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0].heading).toBe('Scripts');
    expect(chunks[0].text).toBe('# Scripts\n\n```sh\n# install deps\nnpm ci\n```');
  });

  it('splits a paragraph longer than chunkSize at sentence ends', () => {
    const long = paragraph(0, 40);
    const chunks = chunkText(long, { chunkSize: 64, chunkOverlap: 0 });
    expectWellFormed(chunks, 64);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.text).toMatch(/^Sentence \d+ .*load\.$/);
    expect(chunks.map((chunk) => chunk.text).join(' ')).toBe(long);
  });

  it('splits at line breaks before sentences, so rows stay whole', () => {
    const rows = Array.from({ length: 60 }, (_, i) => `name: Person ${i}; team: ${TOPICS[i % TOPICS.length]}`);
    const chunks = chunkText(rows.join('\n'), { chunkSize: 48, chunkOverlap: 12 });
    expectWellFormed(chunks, 48);
    for (const chunk of chunks) {
      for (const line of chunk.text.split('\n')) expect(rows).toContain(line);
    }
    expect(new Set(chunks.flatMap((chunk) => chunk.text.split('\n')))).toEqual(new Set(rows));
  });

  it('cuts text with no spaces at token boundaries as a last resort', () => {
    const blob = Array.from({ length: 400 }, (_, i) => ((i * 7919) % 65536).toString(36)).join('');
    const chunks = chunkText(`Attachment:\n\n${blob}`, { chunkSize: 32, chunkOverlap: 0 });
    expectWellFormed(chunks, 32);
    expect(chunks[0].text).toBe('Attachment:');
    expect(
      chunks
        .slice(1)
        .map((chunk) => chunk.text)
        .join(''),
    ).toBe(blob);
    expect(chunks.slice(1, -1).every((chunk) => chunk.tokens >= 28)).toBe(true);
  });

  it('never cuts through a character outside the basic plane', () => {
    const emoji = '🙂🚀🌍'.repeat(200);
    const chunks = chunkText(emoji, { chunkSize: 32, chunkOverlap: 4 });
    expectWellFormed(chunks, 32);
    for (const chunk of chunks) expect(chunk.text).toMatch(/^(?:🙂|🚀|🌍)+$/u);
  });

  it('normalises whitespace and drops empty paragraphs', () => {
    const chunks = chunkText('  Hello \t  world  \r\n \r\n\r\n\n  Next\u00a0line  \n   \n', {
      chunkSize: 32,
      chunkOverlap: 0,
    });
    expect(chunks.map((chunk) => chunk.text)).toEqual(['Hello world\n\nNext line']);
    expect(chunkText(' \n\n\t ', { chunkSize: 32, chunkOverlap: 0 })).toEqual([]);
  });

  it('counts special-token strings as ordinary text', () => {
    const [chunk] = chunkText('Models end with <|endoftext|> markers.', { chunkSize: 32, chunkOverlap: 0 });
    expect(chunk.text).toBe('Models end with <|endoftext|> markers.');
    expect(chunk.tokens).toBe(countTokens(chunk.text, { disallowedSpecial: new Set() }));
  });

  it('is deterministic', () => {
    const text = `# A\n\n${paragraph(0, 30)}\n\n# B\n\n${paragraph(30, 30)}`;
    const options = { chunkSize: 80, chunkOverlap: 20 };
    expect(chunkText(text, options)).toEqual(chunkText(text, options));
  });

  it('validates its options', () => {
    expect(() => chunkText('x', { chunkSize: 31, chunkOverlap: 0 })).toThrow(RangeError);
    expect(() => chunkText('x', { chunkSize: 8193, chunkOverlap: 0 })).toThrow(RangeError);
    expect(() => chunkText('x', { chunkSize: 64.5, chunkOverlap: 0 })).toThrow(RangeError);
    expect(() => chunkText('x', { chunkSize: 64, chunkOverlap: 32 })).toThrow(RangeError);
    expect(() => chunkText('x', { chunkSize: 64, chunkOverlap: -1 })).toThrow(RangeError);
    expect(chunkText('x', { chunkSize: 32, chunkOverlap: 15 })).toHaveLength(1);
    expect(chunkText('x', { chunkSize: 8192, chunkOverlap: 4095 })).toHaveLength(1);
  });
});
